// The console's live picture, shared by every page: recorder states (/ws/devices) and open
// alerts (/ws/alerts), each kept from the server's snapshot plus the pushed changes, with
// a short trail of recent positions per recorder. Pages read it through useLive().
import { createContext, useCallback, useContext, useMemo, useRef, useState, type ReactNode } from "react";
import { useAuth } from "./auth";
import { useLiveFeed, type FeedStatus } from "./realtime";

export interface RecorderState {
  recorder_id: string;
  department_id: string;
  serial: string;
  online: boolean | null;
  last_seen_at: string | null;
  last_transport: string | null;
  battery_pct: number | null;
  storage_free_mb: number | null;
  temperature_c: number | null;
  signal_dbm: number | null;
  recording: boolean | null;
  firmware: string | null;
  lat: number | null;
  lon: number | null;
  accuracy_m: number | null;
  speed_mps: number | null;
  heading_deg: number | null;
  fix: string | null;
  position_at: string | null;
}

export interface AlertSummary {
  id: string;
  kind: string;
  severity: string;
  state: string;
  title: string;
  lat: number | null;
  lon: number | null;
  department_id: string | null;
  recorder_id: string | null;
  officer_id: string | null;
  occurred_at: string;
  last_occurred_at: string;
  occurrences: number;
  evidence_ids: string[];
  snapshot_sha256?: string | null;
}

export type AlertEvent = { event: string; alert: AlertSummary };
type DeviceMessage = { type: "state"; state: RecorderState };
type AlertMessage =
  | { type: "hello"; open: AlertSummary[] }
  | { type: "alert"; event: string; alert: AlertSummary };

export const TRAIL_POINTS = 30;
const OPEN_STATES = new Set(["new", "acknowledged", "dispatched"]);

export interface LiveState {
  recorders: Map<string, RecorderState>;
  trails: Map<string, [number, number][]>;
  alerts: Map<string, AlertSummary>;
  devicesStatus: FeedStatus;
  alertsStatus: FeedStatus;
  /** Subscribe to every alert change as it arrives (sound, notifications). */
  onAlert: (listener: (event: AlertEvent) => void) => () => void;
}

const LiveContext = createContext<LiveState | null>(null);

export function LiveProvider({ children }: { children: ReactNode }) {
  const { can } = useAuth();
  const [recorders, setRecorders] = useState(() => new Map<string, RecorderState>());
  const [trails, setTrails] = useState(() => new Map<string, [number, number][]>());
  const [alerts, setAlerts] = useState(() => new Map<string, AlertSummary>());
  const listeners = useRef(new Set<(event: AlertEvent) => void>());

  const onDevice = useCallback((message: DeviceMessage) => {
    if (message.type !== "state") return;
    const state = message.state;
    setRecorders((old) => new Map(old).set(state.recorder_id, state));
    if (state.lat != null && state.lon != null) {
      const point: [number, number] = [state.lat, state.lon];
      setTrails((old) => {
        const trail = old.get(state.recorder_id) ?? [];
        const last = trail[trail.length - 1];
        if (last && last[0] === point[0] && last[1] === point[1]) return old;
        return new Map(old).set(state.recorder_id, [...trail, point].slice(-TRAIL_POINTS));
      });
    }
  }, []);

  const onAlertMessage = useCallback((message: AlertMessage) => {
    if (message.type === "hello") {
      setAlerts(new Map(message.open.map((a) => [a.id, a])));
      return;
    }
    if (message.type !== "alert") return;
    const { alert, event } = message;
    setAlerts((old) => {
      const next = new Map(old);
      if (OPEN_STATES.has(alert.state)) next.set(alert.id, alert);
      else next.delete(alert.id);
      return next;
    });
    listeners.current.forEach((listener) => listener({ event, alert }));
  }, []);

  const devicesStatus = useLiveFeed<DeviceMessage>({
    path: "/api/v1/ws/devices",
    onMessage: onDevice,
    enabled: can("devices:read"),
  });
  const alertsStatus = useLiveFeed<AlertMessage>({
    path: "/api/v1/ws/alerts",
    onMessage: onAlertMessage,
    enabled: can("alerts:read"),
  });

  const onAlert = useCallback((listener: (event: AlertEvent) => void) => {
    listeners.current.add(listener);
    return () => {
      listeners.current.delete(listener);
    };
  }, []);

  const value = useMemo(
    () => ({ recorders, trails, alerts, devicesStatus, alertsStatus, onAlert }),
    [recorders, trails, alerts, devicesStatus, alertsStatus, onAlert],
  );
  return <LiveContext.Provider value={value}>{children}</LiveContext.Provider>;
}

export function useLive(): LiveState {
  const value = useContext(LiveContext);
  if (!value) throw new Error("useLive outside LiveProvider");
  return value;
}
