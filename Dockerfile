# ACGS-1 Lite services: one image for the four services; docker-compose.yml picks the service
# with `command` (node --import tsx services/<service>/main.ts). Services run their TypeScript
# directly with tsx, so there is no build step.
#
# Node 24 is the active LTS line (CI runs the suite on 20, 22 and 24; Node 20 is past its end of
# life). NODE_IMAGE lets an offline machine substitute a local Node image (or pin a digest).
ARG NODE_IMAGE=node:24-slim

# The dependency manifest without the package's own version. A release bumps package.json's
# version; copied as it is, that would bust the layer below and reinstall every dependency for
# each release (minutes a build). With the version neutralised, releases whose dependencies are the
# same share one installed layer, and the real package.json arrives with the code.
FROM ${NODE_IMAGE} AS dependency-manifest
WORKDIR /manifest
COPY package.json package-lock.json ./
RUN node -e "const fs = require('node:fs'); for (const file of ['package.json', 'package-lock.json']) { const json = JSON.parse(fs.readFileSync(file, 'utf8')); json.version = '0.0.0'; if (json.packages && json.packages['']) json.packages[''].version = '0.0.0'; fs.writeFileSync(file, JSON.stringify(json)); }"

FROM ${NODE_IMAGE}

WORKDIR /app
ENV NODE_ENV=production \
    NPM_CONFIG_UPDATE_NOTIFIER=false \
    NPM_CONFIG_FUND=false \
    NPM_CONFIG_AUDIT=false \
    HOST=0.0.0.0

# Dependencies first, so code changes do not reinstall them. tsx is a runtime dependency. Only the
# state directory (audit spools, admin state; a volume in docker-compose.yml) is writable for the
# service user.
COPY --from=dependency-manifest /manifest/package.json /manifest/package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force && mkdir -p /app/.acgs && chown node:node /app/.acgs
USER node

EXPOSE 8001 8002 8003 8004
# Each service binds exactly the port in PORT: two replicas on the host's network cannot share it,
# so the bot's Docker driver replaces one by handover there (services/stack/docker/recreate.ts).
LABEL acgs.port="exclusive"
# Every service answers GET /health on $PORT; the default command (the whole stack) is checked
# through the Policy Engine's port.
HEALTHCHECK --interval=15s --timeout=5s --start-period=30s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.PORT || 8004) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]

# Default: the whole stack as supervised local processes (`npm start`); compose runs one
# service per container instead.
CMD ["node", "--import", "tsx", "services/stack/local/start-local.ts"]

# The code last, owned by root (COPY ignores USER) and so read-only for the service user. Every
# instruction after it would be a layer of its own for each release: with the vfs storage driver
# each of those copies the whole image (15-20 s apiece), so the metadata above comes first.
COPY . .
