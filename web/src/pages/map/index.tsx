// Live map (/map): every recorder in scope from the live feed, coloured by status, with its
// recent trail; geofences; open alerts pulsing where they happened; a keyboard-usable list
// and legend beside the map; the selected recorder's details and actions.
import { useQuery } from "@tanstack/react-query";
import { useMemo } from "react";
import { useTranslation } from "react-i18next";
import { useSearchParams } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useLive } from "../../app/live";
import { MapView, type MapRecorder } from "./MapView";
import "./map.css";
import { RecorderList } from "./RecorderList";
import { RecorderPanel } from "./RecorderPanel";
import { alertingRecorders, recorderStatus } from "./status";

export default function LiveMapPage() {
  const { t } = useTranslation("map");
  const { can } = useAuth();
  const live = useLive();
  const [params, setParams] = useSearchParams();
  const selectedId = params.get("recorder");

  const geofences = useQuery({
    queryKey: ["geofences", "active"],
    enabled: can("alerts:read"),
    queryFn: async () => unwrap(await api.GET("/api/v1/geofences", { params: { query: { active: true } } })),
    staleTime: 60_000,
  });

  const recorders: MapRecorder[] = useMemo(() => {
    const alerting = alertingRecorders(live.alerts);
    return [...live.recorders.values()]
      .map((state) => ({ state, status: recorderStatus(state, alerting) }))
      .sort((a, b) => a.state.serial.localeCompare(b.state.serial));
  }, [live.recorders, live.alerts]);
  const alerts = useMemo(() => [...live.alerts.values()], [live.alerts]);
  const selected = recorders.find((r) => r.state.recorder_id === selectedId) ?? null;

  const select = (recorderId: string | null) => {
    setParams(recorderId ? { recorder: recorderId } : {}, { replace: true });
  };

  return (
    <div className={`map-page${selected ? " with-panel" : ""}`}>
      <h1 className="sr-only">{t("title")}</h1>
      <RecorderList recorders={recorders} selectedId={selectedId} onSelect={select} />
      <MapView
        recorders={recorders}
        trails={live.trails}
        alerts={alerts}
        geofences={geofences.data?.items ?? []}
        selectedId={selectedId}
        onSelect={select}
      />
      {selected ? <RecorderPanel state={selected.state} status={selected.status} onClose={() => select(null)} /> : null}
    </div>
  );
}
