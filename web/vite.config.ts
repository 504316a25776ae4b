// Vite build of the command-centre console; `npm run dev` proxies the API of a running
// `citywitness demo` (http://127.0.0.1:8000) so the console can be developed live.
import react from "@vitejs/plugin-react";
import { defineConfig } from "vite";

const api = process.env.CW_API_URL ?? "http://127.0.0.1:8000";

export default defineConfig({
  plugins: [react()],
  build: { outDir: "dist", sourcemap: true, chunkSizeWarningLimit: 1500 },
  server: {
    proxy: {
      "/api": { target: api, ws: true, changeOrigin: false },
    },
  },
});
