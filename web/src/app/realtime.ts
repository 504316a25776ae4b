// Live feeds over the platform's console WebSockets (/api/v1/ws/devices, /api/v1/ws/alerts),
// authenticated by the session cookie, with automatic reconnection (exponential back-off,
// 0.5 s doubling to 15 s, reset after a stable minute). Each (re)connect starts with the
// server's snapshot, so nothing is missed while a socket was down.
import { useEffect, useRef, useState } from "react";

export type FeedStatus = "connecting" | "open" | "closed";

export interface FeedOptions<T> {
  path: string;
  onMessage: (message: T) => void;
  onOpen?: () => void;
  enabled?: boolean;
}

const MIN_DELAY_MS = 500;
const MAX_DELAY_MS = 15_000;
const STABLE_MS = 60_000;

export function socketUrl(path: string): string {
  const scheme = window.location.protocol === "https:" ? "wss" : "ws";
  return `${scheme}://${window.location.host}${path}`;
}

/** Keep a WebSocket to `path` open while mounted; returns the connection status. */
export function useLiveFeed<T>({ path, onMessage, onOpen, enabled = true }: FeedOptions<T>): FeedStatus {
  const [status, setStatus] = useState<FeedStatus>("connecting");
  const handlers = useRef({ onMessage, onOpen });
  handlers.current = { onMessage, onOpen };

  useEffect(() => {
    if (!enabled) return undefined;
    let socket: WebSocket | null = null;
    let timer: number | undefined;
    let delay = MIN_DELAY_MS;
    let openedAt = 0;
    let stopped = false;

    const connect = () => {
      setStatus("connecting");
      socket = new WebSocket(socketUrl(path));
      socket.onopen = () => {
        openedAt = Date.now();
        setStatus("open");
        handlers.current.onOpen?.();
      };
      socket.onmessage = (event: MessageEvent<string>) => {
        try {
          handlers.current.onMessage(JSON.parse(event.data) as T);
        } catch (error) {
          console.warn("live feed: bad message", error);
        }
      };
      socket.onclose = () => {
        if (stopped) return;
        setStatus("closed");
        if (Date.now() - openedAt > STABLE_MS) delay = MIN_DELAY_MS;
        timer = window.setTimeout(connect, delay);
        delay = Math.min(delay * 2, MAX_DELAY_MS);
      };
    };
    connect();
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      socket?.close();
    };
  }, [path, enabled]);

  return status;
}
