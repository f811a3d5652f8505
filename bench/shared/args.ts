// The command line of every bench entry point: Node's parseArgs over the options the entry
// declares, strict, so a misspelt flag stops the run instead of being silently ignored.
// `--name value` and `--name=value` both work; parseArgs knows only strings and booleans, so a
// number is declared as a string and read with `asNumber`.
import { type ParseArgsConfig, parseArgs } from 'node:util';

type Options = NonNullable<ParseArgsConfig['options']>;

/** The entry's flags as `options` declares them; positional arguments only where `positionals`. */
export function readArgs<T extends Options>(options: T, positionals = false) {
  try {
    return parseArgs({ args: process.argv.slice(2), options, allowPositionals: positionals, strict: true });
  } catch (e) {
    return refuse((e as Error).message);
  }
}

/** A numeric flag's value ('Infinity' included); anything else stops the run. */
export function asNumber(value: string, flag: string): number {
  const n = Number(value);
  return Number.isNaN(n) ? refuse(`--${flag} takes a number, not ${JSON.stringify(value)}`) : n;
}

/** Stops before any work, with the one line that says what was wrong with the command line. */
function refuse(message: string): never {
  console.error(message);
  process.exit(2);
}
