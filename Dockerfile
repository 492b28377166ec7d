# syntax=docker/dockerfile:1
# Build stage: compile TypeScript, build the settings tab (Vite: src/web/ into dist/web, which needs
# the devDependencies npm ci installs here) and the native SQLite binding.
FROM node:22-bookworm-slim AS build
RUN apt-get update && apt-get install -y --no-install-recommends python3 make g++ && rm -rf /var/lib/apt/lists/*
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY tsconfig.json tsconfig.build.json ./
# src/ holds the tab's sources and src/web/vite.config.ts too.
COPY src ./src
COPY migrations ./migrations
COPY manifest ./manifest
RUN npm run build && npm prune --omit=dev

# Runtime stage: production dependencies only, non-root, database on a volume.
FROM node:22-bookworm-slim
ENV NODE_ENV=production DATABASE_PATH=/data/app.sqlite PORT=3000 HOST=0.0.0.0
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
# dist/src (the server) and dist/web (the built tab: the app does not start without it)
COPY --from=build /app/dist ./dist
COPY views ./views
RUN mkdir -p /data && chown node:node /data
USER node
VOLUME ["/data"]
EXPOSE 3000
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD node -e "fetch('http://127.0.0.1:'+(process.env.PORT||3000)+'/health').then(r=>process.exit(r.ok?0:1)).catch(()=>process.exit(1))"
CMD ["node", "dist/src/server.js"]
