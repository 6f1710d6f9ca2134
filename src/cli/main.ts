/**
 * The `upcall` command (DESIGN.md "Interfaces other people script against"): argument parsing and
 * dispatch only. Each command lives in `commands/<name>.ts` and is registered here in one line.
 */
import { readFileSync } from 'node:fs';
import { Command } from 'commander';
import { devCommand } from './commands/dev.ts';
import { getCommand } from './commands/get.ts';
import { keysCommand } from './commands/keys.ts';
import { lsCommand } from './commands/ls.ts';
import { presignCommand } from './commands/presign.ts';
import { putCommand } from './commands/put.ts';
import { receiverCommand } from './commands/receiver.ts';
import { rmCommand } from './commands/rm.ts';
import { serverCommand } from './commands/server.ts';
import { verifyCommand } from './commands/verify.ts';

const { version } = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as {
  version: string;
};

const program = new Command('upcall')
  .description('OSS-compatible object storage with upload callbacks, and the kit that receives them')
  .version(version);

program.addCommand(devCommand());
program.addCommand(serverCommand());
program.addCommand(receiverCommand());
program.addCommand(putCommand());
program.addCommand(getCommand());
program.addCommand(lsCommand());
program.addCommand(rmCommand());
program.addCommand(presignCommand());
program.addCommand(keysCommand());
program.addCommand(verifyCommand());

await program.parseAsync(process.argv);
