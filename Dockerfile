# The Strata API. Configuration comes from the environment (see README.md, "Configuration").
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
# Compiled once at build time; the image then runs plain Node (scripts/build.sh) without dev dependencies.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
# Production mode: introspection off, and the server refuses to start until a real key source is set
# (STRATA_JWKS_URL or STRATA_JWT_PUBLIC_KEY); the development secret never serves on 0.0.0.0.
ENV HOST=0.0.0.0 PORT=4000 STRATA_ENV=production NODE_ENV=production
EXPOSE 4000
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
