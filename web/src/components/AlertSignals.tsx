// Sound and desktop notification for high and critical alerts as they are raised.
// The tone is generated with the Web Audio API (no audio files); notifications use the
// Notification API and are only asked for when the user presses the button (never on
// load). Mute is remembered in localStorage. `useAlertSignals` listens to useLive().onAlert;
// `<AlertSignalControls>` shows the mute toggle and the notification button and exposes
// counters as data attributes (data-sounds, data-notifications) for tests.
import {
  createContext,
  useCallback,
  useContext,
  useEffect,
  useRef,
  useState,
  useSyncExternalStore,
  type ReactNode,
} from "react";
import { useTranslation } from "react-i18next";
import { useNavigate } from "react-router-dom";
import { useLive, type AlertSummary } from "../app/live";

const MUTE_KEY = "cw.alerts.muted";
export const LOUD_SEVERITIES = new Set(["high", "critical"]);

type Listener = () => void;
const listeners = new Set<Listener>();
let mutedNow = localStorage.getItem(MUTE_KEY) === "1";
let audio: AudioContext | null = null;

function subscribe(listener: Listener): () => void {
  listeners.add(listener);
  return () => listeners.delete(listener);
}

export function setMuted(muted: boolean): void {
  mutedNow = muted;
  localStorage.setItem(MUTE_KEY, muted ? "1" : "0");
  listeners.forEach((listener) => listener());
}

export function useMuted(): boolean {
  return useSyncExternalStore(subscribe, () => mutedNow);
}

/** An AudioContext, created (or resumed) lazily; null where the browser has none. */
function audioContext(): AudioContext | null {
  if (typeof window.AudioContext !== "function") return null;
  audio ??= new window.AudioContext();
  if (audio.state === "suspended") void audio.resume().catch(() => undefined);
  return audio;
}

/** Two short rising beeps (critical: three), generated in code. */
export function playAlertTone(severity: string): boolean {
  const context = audioContext();
  if (!context) return false;
  const beeps = severity === "critical" ? 3 : 2;
  const start = context.currentTime + 0.02;
  for (let i = 0; i < beeps; i += 1) {
    const oscillator = context.createOscillator();
    const gain = context.createGain();
    oscillator.type = "square";
    oscillator.frequency.value = 880 + i * 220;
    const at = start + i * 0.22;
    gain.gain.setValueAtTime(0.0001, at);
    gain.gain.exponentialRampToValueAtTime(0.15, at + 0.02);
    gain.gain.exponentialRampToValueAtTime(0.0001, at + 0.18);
    oscillator.connect(gain).connect(context.destination);
    oscillator.start(at);
    oscillator.stop(at + 0.2);
  }
  return true;
}

function notificationsSupported(): boolean {
  return typeof window.Notification === "function";
}

export interface SignalCounts {
  sounds: number;
  notifications: number;
  lastAlertId: string | null;
}

/** React to "raised" events of high/critical alerts with the tone and a notification. */
export function useAlertSignals(onOpen?: (alert: AlertSummary) => void): SignalCounts {
  const { t } = useTranslation("alerts");
  const { onAlert } = useLive();
  const muted = useMuted();
  const [counts, setCounts] = useState<SignalCounts>({ sounds: 0, notifications: 0, lastAlertId: null });
  const state = useRef({ muted, t, onOpen });
  state.current = { muted, t, onOpen };

  useEffect(
    () =>
      onAlert(({ event, alert }) => {
        if (event !== "raised" || !LOUD_SEVERITIES.has(alert.severity)) return;
        const { muted: isMuted, t: translate, onOpen: open } = state.current;
        let sounded = false;
        let notified = false;
        if (!isMuted) {
          playAlertTone(alert.severity);
          sounded = true;
        }
        if (notificationsSupported() && Notification.permission === "granted") {
          const note = new Notification(translate("signals.notificationTitle", { severity: translate(`severity.${alert.severity}`) }), {
            body: alert.title,
            tag: alert.id,
            silent: isMuted,
          });
          note.onclick = () => {
            window.focus();
            open?.(alert);
          };
          notified = true;
        }
        setCounts((old) => ({
          sounds: old.sounds + (sounded ? 1 : 0),
          notifications: old.notifications + (notified ? 1 : 0),
          lastAlertId: alert.id,
        }));
      }),
    [onAlert],
  );
  return counts;
}

const SignalsContext = createContext<SignalCounts>({ sounds: 0, notifications: 0, lastAlertId: null });

/**
 * Signals for the whole console (mounted by the shell): an operator on the map or the
 * video wall hears an SOS too; clicking a notification opens the alert in the inbox.
 */
export function AlertSignalsProvider({ children }: { children: ReactNode }) {
  const navigate = useNavigate();
  const open = useCallback((alert: { id: string }) => navigate(`/alerts/${alert.id}`), [navigate]);
  const counts = useAlertSignals(open);
  return <SignalsContext.Provider value={counts}>{children}</SignalsContext.Provider>;
}

/** What the console-wide signals did since the page loaded. */
export function useSignalCounts(): SignalCounts {
  return useContext(SignalsContext);
}

/** Mute toggle and "enable notifications" button, with the counters as data attributes. */
export function AlertSignalControls({ counts }: { counts: SignalCounts }) {
  const { t } = useTranslation("alerts");
  const muted = useMuted();
  const [permission, setPermission] = useState<string>(() =>
    notificationsSupported() ? Notification.permission : "unsupported",
  );

  const toggleMute = useCallback(() => {
    if (muted) audioContext(); // a user gesture: unlock audio for later tones
    setMuted(!muted);
  }, [muted]);

  const enable = useCallback(async () => {
    audioContext();
    if (!notificationsSupported()) return;
    setPermission(await Notification.requestPermission());
  }, []);

  return (
    <div
      className="alert-signals"
      data-testid="alert-signals"
      data-muted={muted ? "true" : "false"}
      data-sounds={counts.sounds}
      data-notifications={counts.notifications}
      data-last-alert={counts.lastAlertId ?? ""}
    >
      <button type="button" className="secondary" aria-pressed={muted} onClick={toggleMute}>
        {muted ? t("signals.unmute") : t("signals.mute")}
      </button>
      {permission === "default" ? (
        <button type="button" className="secondary" onClick={() => void enable()}>
          {t("signals.enableNotifications")}
        </button>
      ) : (
        <span className="muted small">{t(`signals.permission.${permission}`)}</span>
      )}
    </div>
  );
}
