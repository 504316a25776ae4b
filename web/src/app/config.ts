// The console's map set-up (GET /api/v1/console/config), fetched once per session.
import { useQuery } from "@tanstack/react-query";
import { api, unwrap, type Schemas } from "../api/client";

export type ConsoleConfig = Schemas["ConsoleConfig"];

export function useConsoleConfig() {
  return useQuery({
    queryKey: ["console", "config"],
    queryFn: async () => unwrap(await api.GET("/api/v1/console/config")),
    staleTime: Infinity,
  });
}
