// Allowlist groups shipped with Chokepoint: the hosts CI jobs reach every day.
// Pools use them as `@name`; an operator's own `groups:` entry of the same name wins.
// Sources: each provider's published documentation of the hosts its clients contact.

export const shippedGroups: Readonly<Record<string, readonly string[]>> = {
  // GitHub Actions self-hosted runners: the runner service, artifact/cache/log storage, releases.
  'github-actions': [
    'github.com',
    'api.github.com',
    '*.actions.githubusercontent.com',
    'codeload.github.com',
    'pkg.actions.githubusercontent.com',
    'ghcr.io',
    'results-receiver.actions.githubusercontent.com',
    '*.blob.core.windows.net',
    'objects.githubusercontent.com',
    'objects-origin.githubusercontent.com',
    'github-releases.githubusercontent.com',
    'github-registry-files.githubusercontent.com',
    'release-assets.githubusercontent.com',
    'pipelines.actions.githubusercontent.com',
    'vstoken.actions.githubusercontent.com',
    'broker.actions.githubusercontent.com',
    'token.actions.githubusercontent.com',
  ],
  'gitlab-com': ['gitlab.com', '*.gitlab.com', 'registry.gitlab.com', 'gitlab-static.net', '*.gitlab-static.net'],
  npm: ['registry.npmjs.org', 'registry.yarnpkg.com', 'npm.pkg.github.com'],
  pypi: ['pypi.org', 'files.pythonhosted.org', 'upload.pypi.org', 'test.pypi.org'],
  'docker-hub': [
    'registry-1.docker.io',
    'auth.docker.io',
    'index.docker.io',
    'production.cloudflare.docker.com',
    '*.r2.cloudflarestorage.com',
  ],
  'go-proxy': ['proxy.golang.org', 'sum.golang.org', 'storage.googleapis.com', 'index.golang.org'],
  'crates-io': ['crates.io', 'index.crates.io', 'static.crates.io', 'static.rust-lang.org'],
  'maven-central': ['repo.maven.apache.org', 'repo1.maven.org', 'central.sonatype.com', 'plugins.gradle.org'],
};
