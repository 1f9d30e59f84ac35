# One image for every MeshMart service: `meshmart/services:<version>`. The Deployment picks the service with its
# command, e.g. `node dist/catalog.mjs` (the default command runs the gateway).
#
#   docker build -t meshmart/services:0.1.0 .        (or: make images)
#   docker run --rm -p 8080:8080 meshmart/services:0.1.0
#   docker run --rm -p 8081:8081 meshmart/services:0.1.0 dist/catalog.mjs
#
# Stages: `manifests` keeps only the package.json files, so the `npm ci` layer is rebuilt only when dependencies
# change; `build` installs everything and bundles each services/<name>/src/main.ts with esbuild
# (scripts/build-images.ts) into dist/<name>.mjs plus shared chunks and assets, npm packages inside the bundles; the
# runtime stage holds Node.js and those bundles only: no node_modules, no npm, no TypeScript, no compiler.
#
# Pin the base image further by digest where a registry is reachable:
#   docker build --build-arg NODE_IMAGE=node:20.20.2-bookworm-slim@sha256:<digest> ...
ARG NODE_IMAGE=node:20.20.2-bookworm-slim

# ---------------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS manifests
WORKDIR /src
COPY package.json package-lock.json ./
COPY services ./services
RUN find services -type f ! -name package.json -delete && find services -depth -type d -empty -delete

# ---------------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS build
WORKDIR /src
ENV npm_config_audit=false npm_config_fund=false npm_config_update_notifier=false
COPY --from=manifests /src ./
# --ignore-scripts: no install script is needed to bundle (esbuild's binary comes as an optional dependency).
RUN --mount=type=cache,target=/root/.npm npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.json ./
COPY scripts/build-images.ts ./scripts/
COPY services ./services
RUN npx tsx scripts/build-images.ts --out /out/dist

# ---------------------------------------------------------------------------------------------------------------------
FROM ${NODE_IMAGE} AS runtime
ARG VERSION=dev
LABEL org.opencontainers.image.title="meshmart-services" \
      org.opencontainers.image.description="MeshMart services; the container command picks one: node dist/<service>.mjs" \
      org.opencontainers.image.version="${VERSION}" \
      org.opencontainers.image.licenses="Apache-2.0"
# The runtime needs `node` only: npm, npx, corepack and yarn are removed, so nothing can be installed at run time (a
# later layer makes the image safer, not smaller). uid/gid 10001 get a passwd entry so that libraries that look the
# user up (os.userInfo) work.
SHELL ["/bin/bash", "-o", "pipefail", "-c"]
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* /usr/local/include/node /usr/local/share/doc/node \
 && groupadd --gid 10001 meshmart \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin meshmart
# The gateway serves the web UI prebuilt by scripts/build-images.ts (nothing is built at run time).
# HOST: the kit listens on 127.0.0.1 by default (a developer's machine); a container answers on every interface.
ENV NODE_ENV=production WEB_ROOT=/app/dist/web HOST=0.0.0.0
WORKDIR /app
# Owned by root and not writable by the service's user; the pod also mounts the root filesystem read-only.
COPY --from=build /out/dist ./dist
# dist/services/<name>.mjs works too (the layout of a local build: scripts/build-images.ts writes dist/services/).
RUN ln -s . dist/services
USER 10001:10001
EXPOSE 8080
# Exec form, no shell: node is PID 1 and receives SIGTERM itself; the kit's handler drains and exits (a PID 1 with a
# handler gets the signal; node spawns no child processes, so there are no zombies to reap and no init is needed).
ENTRYPOINT ["node"]
CMD ["dist/gateway.mjs"]
