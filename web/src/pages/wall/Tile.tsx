// One tile of the wall: a recorder, labelled with its officer and place, playing its live
// session when it has one and saying clearly when it is offline or not streaming.
import { useQuery } from "@tanstack/react-query";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import type { RecorderState } from "../../app/live";
import { nearestStreet, type Street } from "./place";
import { Player } from "./Player";

interface Props {
  recorderId: string;
  state: RecorderState | undefined;
  session: Schemas["SessionOut"] | undefined;
  streets: Street[];
  onRemove: () => void;
}

function useOfficerName(recorderId: string, sessionOfficer: string | null): [string | null, boolean] {
  const { can } = useAuth();
  const device = useQuery({
    queryKey: ["devices", recorderId],
    enabled: sessionOfficer === null && can("devices:read"),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/devices/{recorder_id}", { params: { path: { recorder_id: recorderId } } })),
    staleTime: 30_000,
  });
  const officerId = sessionOfficer ?? device.data?.binding?.officer_id ?? null;
  const officer = useQuery({
    queryKey: ["officers", officerId],
    enabled: officerId !== null && can("officers:read"),
    queryFn: async () =>
      unwrap(await api.GET("/api/v1/officers/{officer_id}", { params: { path: { officer_id: officerId ?? "" } } })),
    staleTime: 60_000,
  });
  const name = officer.data ? `${officer.data.display_name} (${officer.data.badge_number})` : null;
  return [name, officerId !== null];
}

export function Tile({ recorderId, state, session, streets, onRemove }: Props) {
  const { t, i18n } = useTranslation("wall");
  const [officer, bound] = useOfficerName(recorderId, session?.officer_id ?? null);
  const serial = state?.serial ?? recorderId.slice(0, 8);

  let place = t("tile.noPosition");
  if (state?.lat != null && state.lon != null) {
    const coordinate = new Intl.NumberFormat(i18n.language, { minimumFractionDigits: 4, maximumFractionDigits: 4 });
    place = nearestStreet(streets, state.lat, state.lon) ?? `${coordinate.format(state.lat)}, ${coordinate.format(state.lon)}`;
  }
  const who = officer ?? (bound ? t("tile.officerHidden") : t("tile.noOfficer"));
  const label = t("tile.label", { serial, officer: who, place });

  let tileState: "live" | "offline" | "no-stream" = "live";
  if (!session) tileState = state?.online ? "no-stream" : "offline";

  return (
    <li className={`wall-tile wall-${tileState}`} data-testid="wall-tile" data-recorder-id={recorderId} data-state={tileState}>
      <div className="wall-tile-head">
        <div className="wall-tile-title">
          <strong>{serial}</strong> <span data-testid="tile-officer">{who}</span>
          <br />
          <span className="wall-place" data-testid="tile-place">
            {place}
          </span>
        </div>
        <button type="button" className="secondary wall-remove" onClick={onRemove} aria-label={t("tile.remove", { serial })}>
          ×
        </button>
      </div>
      {session ? (
        <Player key={session.id} sessionId={session.id} label={label} />
      ) : (
        <p className="wall-empty" role="status">
          {tileState === "offline" ? t("tile.offline") : t("tile.noStream")}
        </p>
      )}
    </li>
  );
}
