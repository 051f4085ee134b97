// The list of CLI commands, in the order `df11 --help` shows them. To add a command, write
// src/cli/<name>-command.ts exporting a CliCommand and add it here.
import { benchCommand } from './bench-command.js';
import { chatCommand } from './chat-command.js';
import type { CliCommand } from './command.js';
import { compressCommand } from './compress-command.js';
import { decompressCommand } from './decompress-command.js';
import { generateCommand } from './generate-command.js';
import { inspectCommand } from './inspect-command.js';
import { verifyCommand } from './verify-command.js';

export const COMMANDS: readonly CliCommand[] = [compressCommand, decompressCommand, inspectCommand, verifyCommand, generateCommand, chatCommand, benchCommand];
