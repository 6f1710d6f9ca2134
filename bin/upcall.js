#!/usr/bin/env node
// The upcall command. The package ships its TypeScript sources and runs them through tsx's
// loader, so `npm ci && npm start` needs no build step and never runs a stale build.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');
