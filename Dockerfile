# Build with the full toolchain, then ship only production dependencies and compiled output.
FROM node:20-bookworm AS build
WORKDIR /app
# Dependencies first, so source edits do not invalidate the npm ci layer.
COPY package.json package-lock.json ./
RUN npm ci
COPY . .
RUN npm run build && npm prune --omit=dev

FROM node:20-bookworm-slim
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    KUBETIME_DATA_DIR=/data
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
# A non-root user can run the embedded PostgreSQL (used when DATABASE_URL is unset) without creating
# a system user; a named volume mounted on /data inherits this ownership on first use.
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME /data
EXPOSE 6443
CMD ["node", "dist/apps/server/src/main.js"]
