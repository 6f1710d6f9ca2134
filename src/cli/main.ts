/**
 * The `upcall` command (DESIGN.md "Interfaces other people script against"): argument parsing and
 * dispatch only. Each command lives in `commands/<name>.ts` and is registered here in one line.
 *
 * Commands load lazily: `upcall server …` imports only the server command (not Fastify, the
 * receiver or the dashboard), which keeps start-up time and resident memory down; `upcall`,
 * `upcall --help` or an unknown word load them all so help and suggestions stay complete.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';

const COMMANDS: Record<string, () => Promise<Command>> = {
  dev: async () => (await import('./commands/dev.ts')).devCommand(),
  server: async () => (await import('./commands/server.ts')).serverCommand(),
  receiver: async () => (await import('./commands/receiver.ts')).receiverCommand(),
  put: async () => (await import('./commands/put.ts')).putCommand(),
  get: async () => (await import('./commands/get.ts')).getCommand(),
  ls: async () => (await import('./commands/ls.ts')).lsCommand(),
  rm: async () => (await import('./commands/rm.ts')).rmCommand(),
  stat: async () => (await import('./commands/stat.ts')).statCommand(),
  mb: async () => (await import('./commands/mb.ts')).mbCommand(),
  rb: async () => (await import('./commands/rb.ts')).rbCommand(),
  uploads: async () => (await import('./commands/uploads.ts')).uploadsCommand(),
  presign: async () => (await import('./commands/presign.ts')).presignCommand(),
  keys: async () => (await import('./commands/keys.ts')).keysCommand(),
  verify: async () => (await import('./commands/verify.ts')).verifyCommand(),
  callbacks: async () => (await import('./commands/callbacks.ts')).callbacksCommand(),
};

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('upcall')
  .description('OSS-compatible object storage with upload callbacks, and the kit that receives them')
  .version(version);

const named = process.argv[2];
const wanted = named !== undefined && named in COMMANDS ? [named] : Object.keys(COMMANDS);
for (const command of await Promise.all(wanted.map((name) => COMMANDS[name]!()))) program.addCommand(command);

await program.parseAsync(process.argv);
