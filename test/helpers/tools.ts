// The Debian tools the suite drives, each with the package that installs it. `.ci/run`
// installs these packages (test/tools.test.ts checks its PACKAGES line covers them); a test
// that needs a tool calls requireTool() so a missing one is a failure naming the package,
// never a silent skip.
import { accessSync, constants } from 'node:fs';
import { delimiter, join } from 'node:path';

export const TOOLS: Record<string, string> = {
  curl: 'curl',
  wget: 'wget',
  git: 'git',
  '/usr/bin/python3': 'python3',
  promtool: 'prometheus',
  '/usr/bin/prometheus': 'prometheus',
  amtool: 'prometheus-alertmanager',
  '/usr/bin/prometheus-alertmanager': 'prometheus-alertmanager',
  'update-ca-certificates': 'ca-certificates',
  script: 'util-linux',
  openssl: 'openssl',
  keytool: 'default-jdk-headless',
  java: 'default-jdk-headless',
  ruby: 'ruby',
  dig: 'bind9-dnsutils',
};

/** Files the suite reads that a Debian package puts there, with the package. */
export const FILES: Record<string, string> = {
  '/etc/ssl/certs/ca-certificates.crt': 'ca-certificates',
};

/** The file's path; throws (so the test fails) naming the Debian package when it is missing. */
export function requireFile(path: string): string {
  const pkg = FILES[path];
  if (pkg === undefined) throw new Error(`requireFile(${path}): add it with its Debian package to FILES in test/helpers/tools.ts`);
  try {
    accessSync(path, constants.R_OK);
  } catch {
    throw new Error(missingToolMessage(path, pkg));
  }
  return path;
}

/** The full path of a command (on PATH unless absolute), or undefined. */
export function findTool(command: string): string | undefined {
  const candidates = command.includes('/') ? [command] : (process.env.PATH ?? '').split(delimiter).map((d) => join(d, command));
  for (const path of candidates) {
    try {
      accessSync(path, constants.X_OK);
      return path;
    } catch {
      // not here; try the next directory
    }
  }
  return undefined;
}

/** The message a missing tool fails with: what is missing, and the one command that installs it. */
export function missingToolMessage(command: string, pkg: string): string {
  return `${command} is not installed: it comes with Debian's package ${pkg} (apt-get install -y ${pkg}); \`bash .ci/run\` installs every package the tests need`;
}

/** The tool's path; throws (so the test fails) naming the Debian package when it is missing. */
export function requireTool(command: string): string {
  const pkg = TOOLS[command];
  if (pkg === undefined) throw new Error(`requireTool(${command}): add it with its Debian package to TOOLS in test/helpers/tools.ts`);
  const path = findTool(command);
  if (path === undefined) throw new Error(missingToolMessage(command, pkg));
  return path;
}
