// Allowlist groups shipped with Chokepoint: the hosts CI jobs reach every day.
// Pools use them as `@name`; an operator's own `groups:` entry of the same name wins.
// Sources: each provider's published documentation of the hosts its clients contact.

export const shippedGroups: Readonly<Record<string, readonly string[]>> = {
  // GitHub Actions self-hosted runners (GitHub's "communicating with self-hosted runners" list):
  // the runner service and OIDC, action downloads, logs/artifacts/caches (results service and
  // Azure blob storage), runner updates, GitHub Packages, Git LFS, Dependabot jobs.
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
    '*.pkg.github.com',
    'pkg-containers.githubusercontent.com',
    'github-cloud.githubusercontent.com',
    'github-cloud.s3.amazonaws.com',
    'dependabot-actions.githubapp.com',
  ],
  // GitHub Actions OIDC: the job asks ACTIONS_ID_TOKEN_REQUEST_URL (a host under
  // actions.githubusercontent.com); the issuer serves discovery and JWKS.
  'github-oidc': ['token.actions.githubusercontent.com', '*.actions.githubusercontent.com'],
  // GitHub's own Sigstore instance: artifact attestations of private repositories.
  'github-attestations': ['fulcio.githubapp.com', 'timestamp.githubapp.com', 'tuf-repo.github.com'],
  // GitLab.com runners: the API and job logs (gitlab.com), the registry, static assets.
  'gitlab-com': ['gitlab.com', '*.gitlab.com', 'registry.gitlab.com', 'gitlab-static.net', '*.gitlab-static.net'],
  // GitLab id_tokens are minted by the instance; relying parties read its discovery and keys.
  'gitlab-oidc': ['gitlab.com'],
  // Azure Pipelines self-hosted agents (Microsoft's "allowed address lists" for Azure DevOps).
  'azure-pipelines': [
    'dev.azure.com',
    '*.dev.azure.com',
    '*.visualstudio.com',
    '*.vsassets.io',
    '*.blob.core.windows.net',
    'login.microsoftonline.com',
    'management.core.windows.net',
    'vstsagentpackage.azureedge.net',
  ],
  // Azure Pipelines workload identity federation: the job's System.OidcRequestUri is on
  // dev.azure.com; the issuer is vstoken.dev.azure.com; Entra ID exchanges the token.
  'azure-pipelines-oidc': ['dev.azure.com', 'vstoken.dev.azure.com', 'login.microsoftonline.com'],
  // CircleCI self-hosted machine and container runners: task polling, logs, the API, agent downloads.
  circleci: ['circleci.com', '*.circleci.com', 'runner.circleci.com', 'circleci-binary-releases.s3.amazonaws.com'],
  // CircleCI OIDC tokens: issuer https://oidc.circleci.com/org/<org-id>.
  'circleci-oidc': ['oidc.circleci.com'],
  // Buildkite agents: the Agent API (edge and classic), built-in artifact storage, agent downloads.
  buildkite: ['agent-edge.buildkite.com', 'agent.buildkite.com', 'buildkiteartifacts.com', 'api.buildkite.com', 'download.buildkite.com', 'packages.buildkite.com'],
  // Buildkite OIDC: `buildkite-agent oidc request-token` asks the Agent API; issuer agent.buildkite.com.
  'buildkite-oidc': ['agent.buildkite.com', 'agent-edge.buildkite.com'],
  // Jenkins controllers: the update center, plugin and core downloads (and their mirror redirector).
  jenkins: [
    'updates.jenkins.io',
    'updates.jenkins-ci.org',
    'get.jenkins.io',
    'mirrors.jenkins.io',
    'archives.jenkins.io',
    'pkg.jenkins.io',
    'repo.jenkins-ci.org',
    'plugins.jenkins.io',
  ],
  // Sigstore public-good instance: Fulcio (certificates), Rekor (transparency log, v1 and the
  // sharded v2 logs), TUF trust root, timestamp authority, and the OAuth flow for keyless signing.
  sigstore: [
    'fulcio.sigstore.dev',
    'rekor.sigstore.dev',
    '*.rekor.sigstore.dev',
    'tuf-repo-cdn.sigstore.dev',
    'timestamp.sigstore.dev',
    'oauth2.sigstore.dev',
  ],
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
  // DNS over HTTPS and over TLS (RFC 8484, RFC 7858): resolvers that would route a job's
  // lookups around the DNS listener and its reading of names. Meant as a deny entry
  // (`deny: ['@doh']`); port 853 (DoT) is refused on its own (reason dns-over-tls).
  doh: [
    'dns.google',
    'dns.google.com',
    'dns64.dns.google',
    'cloudflare-dns.com',
    '*.cloudflare-dns.com',
    'one.one.one.one',
    '1dot1dot1dot1.cloudflare-dns.com',
    'dns.quad9.net',
    'dns9.quad9.net',
    'dns10.quad9.net',
    'dns11.quad9.net',
    'doh.opendns.com',
    'doh.familyshield.opendns.com',
    'dns.nextdns.io',
    '*.dns.nextdns.io',
    'doh.cleanbrowsing.org',
    'dns.adguard-dns.com',
    'dns.adguard.com',
    'unfiltered.adguard-dns.com',
    'family.adguard-dns.com',
    'doh.mullvad.net',
    'dns.mullvad.net',
    'doh.dns.sb',
    'dns.controld.com',
    'freedns.controld.com',
    'dns.alidns.com',
    'doh.pub',
    'dot.pub',
    'doh.libredns.gr',
    'dns.switch.ch',
    'ordns.he.net',
  ],
  'maven-central': ['repo.maven.apache.org', 'repo1.maven.org', 'central.sonatype.com', 'plugins.gradle.org'],
};
