# The Strata API. Configuration comes from the environment (see README.md, "Configuration").
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --no-audit --no-fund
COPY . .
# Compiled once at build time; the image then runs plain Node (scripts/build.sh) without dev dependencies.
RUN npm run build && npm prune --omit=dev --no-audit --no-fund
ENV HOST=0.0.0.0 PORT=4000
EXPOSE 4000
ENV NODE_ENV=production
CMD ["node", "--enable-source-maps", "dist/api/main.js"]
