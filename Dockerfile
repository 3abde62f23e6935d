# syntax=docker/dockerfile:1
# The Cartographer operator image: the single-file bundle of the `cartographer` CLI on a slim Node 24 runtime.
#
#   docker build -t cartographer:0.1.0 .
#
# Stage 1 installs the workspace and bundles apps/operator (esbuild) into one ESM file with every dependency
# inlined; stage 2 is a plain Node 24 runtime with npm, corepack and yarn removed, holding only that file, run as
# a non-root numeric user (so that `runAsNonRoot` can be verified by the kubelet).
#
# Releases ship this image ready-made (`npm run release`: cartographer-<version>-image.tar), built without Docker by
# scripts/image/operator.mjs; test/node/images/operatorImage.it.test.ts checks that it is what this file describes.
ARG NODE_IMAGE=node:24-bookworm-slim

FROM ${NODE_IMAGE} AS build
WORKDIR /src
# Manifests first, so that the dependency layer is reused while only sources change. Every workspace of the root
# package.json must be listed (npm ci checks them against package-lock.json).
COPY package.json package-lock.json ./
COPY packages/schema/package.json packages/schema/
COPY packages/k8s/package.json packages/k8s/
COPY packages/reconciler/package.json packages/reconciler/
COPY apps/operator/package.json apps/operator/
COPY test/package.json test/
# --ignore-scripts: nothing here needs an install script (esbuild finds its binary through its platform package; the
# `node` devDependency's download is useless in a Node image).
RUN npm ci --ignore-scripts --no-audit --no-fund
COPY tsconfig.base.json ./
COPY packages/schema/src packages/schema/src
COPY packages/k8s/src packages/k8s/src
COPY packages/reconciler/src packages/reconciler/src
COPY apps/operator/src apps/operator/src
COPY apps/operator/scripts apps/operator/scripts
RUN node apps/operator/scripts/bundle.mjs --outfile /out/cartographer.mjs \
 && node /out/cartographer.mjs version

FROM ${NODE_IMAGE} AS runtime
# No package managers or build tools in the final image.
RUN rm -rf /usr/local/lib/node_modules /usr/local/bin/npm /usr/local/bin/npx /usr/local/bin/corepack \
      /usr/local/bin/yarn /usr/local/bin/yarnpkg /opt/yarn-* \
 && mkdir -p /app
COPY --from=build --chown=0:0 --chmod=0444 /out/cartographer.mjs /app/cartographer.mjs
ENV NODE_ENV=production
# The image's `node` user (uid/gid 1000), by number.
USER 1000:1000
WORKDIR /app
EXPOSE 8080 8081
ENTRYPOINT ["node", "/app/cartographer.mjs"]
CMD ["run"]
