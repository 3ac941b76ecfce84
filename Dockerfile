# A cellos cell worker: Node 20 on Debian bookworm, Debian's runsc (gVisor) and busybox-static, the
# compiled package, and a default busybox rootfs built the way scripts/setup.sh builds .tools/rootfs/busybox.
# docker-compose.yml runs two of these (worker-a, worker-b); see the README, "docker-compose".
#
#   docker build -t cellos-gvisor .
#   docker run --privileged -e TEMPORAL_ADDRESS=... -e CELLOS_HOST_ID=... -v cellos-state:/var/lib/cellos cellos-gvisor

# --- build: dist/ from the TypeScript sources (tsc needs the dev dependencies) ---------------------
FROM node:20-bookworm AS build
WORKDIR /src
COPY package.json package-lock.json ./
RUN npm ci --ignore-scripts
COPY tsconfig.json tsconfig.build.json ./
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY bench ./bench
RUN npx tsc -p tsconfig.build.json && test -f dist/src/cli/main.js

# --- runtime -----------------------------------------------------------------------------------------
FROM node:20-bookworm-slim
RUN apt-get update \
  && apt-get install -y --no-install-recommends runsc busybox-static ca-certificates \
  && rm -rf /var/lib/apt/lists/* \
  && runsc --version

# The default rootfs (CELLOS_DEFAULT_ROOTFS): busybox and a link per applet, the usual top-level
# folders (mount points are pre-created: runsc creates them even in a read-only root), /tmp
# world-writable and sticky, root and nobody in passwd/group, hostname `cell`. As scripts/setup.sh.
ARG ROOTFS=/opt/cellos/rootfs/busybox
RUN set -eu; \
  mkdir -p "$ROOTFS"; chmod 0755 "$ROOTFS"; cd "$ROOTFS"; \
  mkdir -p bin etc proc dev sys root home work out tmp var/tmp; \
  chmod 1777 tmp var/tmp; chmod 0700 root; \
  install -m 0755 /bin/busybox bin/busybox; \
  for applet in $(bin/busybox --list); do \
    [ "$applet" = busybox ] || ln -s busybox "bin/$applet"; \
  done; \
  printf '%s\n' 'root:x:0:0:root:/root:/bin/sh' 'nobody:x:65534:65534:nobody:/nonexistent:/bin/false' >etc/passwd; \
  printf '%s\n' 'root:x:0:' 'nogroup:x:65534:' >etc/group; \
  echo cell >etc/hostname; \
  chmod 0644 etc/passwd etc/group etc/hostname

WORKDIR /opt/cellos
COPY package.json package-lock.json ./
RUN npm ci --omit=dev && npm cache clean --force
# What the npm package holds (package.json "files"): the compiled code, and the sources the worker
# bundles its workflows from.
COPY --from=build /src/dist/src ./dist/src
COPY --from=build /src/dist/workflows ./dist/workflows
COPY --from=build /src/dist/activities ./dist/activities
COPY src ./src
COPY workflows ./workflows
COPY activities ./activities
COPY bin ./bin
COPY deno.json README.md ./

# A worker's memory settings (src/worker/memory-settings.ts): the ENTRYPOINT below starts node itself.
ENV NODE_ENV=production \
  MALLOC_ARENA_MAX=2 \
  MALLOC_TRIM_THRESHOLD_=131072 \
  MALLOC_MMAP_THRESHOLD_=131072 \
  NODE_OPTIONS=--max-semi-space-size=2 \
  CELLOS_DEFAULT_ROOTFS=/opt/cellos/rootfs/busybox \
  CELLOS_STATE_DIR=/var/lib/cellos
VOLUME /var/lib/cellos
# Prometheus metrics when CELLOS_METRICS_ADDRESS=0.0.0.0:9464.
EXPOSE 9464
# runsc runs as root (namespaces, chroot, cgroups); the cells themselves run as the document's user
# (not uid 0 unless CELLOS_ALLOW_ROOT_USER) inside gVisor.
USER root
ENTRYPOINT ["node", "bin/cellos.js"]
CMD ["worker"]
