# syntax=docker/dockerfile:1
# Vitrine in a container: `docker build -t vitrine .`, then
#   docker run -p 8182:8182 -v "$PWD/vitrine-data:/data" vitrine                      # serve a converted data folder
#   docker run -v "$PWD/masters:/masters:ro" -v "$PWD/vitrine-data:/data" vitrine convert /masters --out /data
# Not built on the machine this was written on (it has no Docker engine): test/server/container.test.ts
# checks what can be checked without one (see README, Container).

# ---- build: the native addon against the -dev libraries, dist/ and the web bundles, then production modules only
FROM node:20-bookworm-slim AS build
# What scripts/install-system-deps.sh installs for the addon (native/binding.gyp), and node-gyp's compiler.
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libturbojpeg0-dev libjpeg62-turbo-dev libopenjp2-7-dev libtiff-dev liblcms2-dev g++ make python3 \
 && rm -rf /var/lib/apt/lists/*
WORKDIR /app
# node-gyp builds against the image's own Node headers (the addon, better-sqlite3 when no prebuilt binary fits).
ENV npm_config_nodedir=/usr/local
COPY package.json package-lock.json tsconfig.json tsconfig.build.json ./
COPY scripts ./scripts
COPY native ./native
COPY src ./src
COPY web ./web
# npm ci runs the install script (the addon: scripts/build-native.mjs) and prepare (dist/ and the viewers'
# bundles); the build must have the addon with every feature the -dev libraries above give.
RUN npm ci \
 && node -e "const f = require('./native/build/features.json'); if (!f.built) throw new Error('native addon not built: ' + f.reason); console.log(f.features)" \
 && npm prune --omit=dev

# ---- runtime: the shared libraries the addon links (no headers, no compiler), a non-root user
FROM node:20-bookworm-slim AS runtime
RUN apt-get update \
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \
      libturbojpeg0 libjpeg62-turbo libopenjp2-7 libtiff6 liblcms2-2 \
 && rm -rf /var/lib/apt/lists/* \
 && mkdir -p /data && chown node:node /data
WORKDIR /app
COPY --from=build /app/package.json ./package.json
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY --from=build /app/native/build/Release/vitrine_native.node ./native/build/Release/vitrine_native.node
COPY --from=build /app/native/build/features.json ./native/build/features.json
# Memory freed by large renders is reused rather than kept per thread (README, Under load).
ENV NODE_ENV=production MALLOC_ARENA_MAX=2 VITRINE_HOST=0.0.0.0 VITRINE_PORT=8182
USER node
# The data folder (vitrine convert's output: catalog.sqlite, images/, auth-secret): keep it on a volume.
VOLUME ["/data"]
EXPOSE 8182
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["node", "-e", "fetch('http://127.0.0.1:' + (process.env.VITRINE_PORT || 8182) + '/health').then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))"]
# SIGTERM (docker stop) finishes the requests in flight, then exits 0 (README, Shutdown): node is PID 1 and handles it.
ENTRYPOINT ["node", "/app/dist/cli/index.js"]
CMD ["serve", "--data", "/data"]
