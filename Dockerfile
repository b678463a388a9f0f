# The Strata API. Configuration comes from the environment (see README.md, "Configuration").
FROM node:20-bookworm-slim
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm install --omit=dev --no-audit --no-fund
COPY . .
ENV HOST=0.0.0.0 PORT=4000
EXPOSE 4000
CMD ["npx", "tsx", "api/main.ts"]
