// Geofences: drawn on the map (click to add vertices, double click or Finish to close),
// with a rule (restricted: entering alerts; stay_inside: leaving alerts), severity and the
// department; the list changes a fence's rule, severity or whether it is active.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { GeofenceMap, type LatLng } from "./GeofenceMap";
import { DepartmentSelect, ErrorLine, useDepartmentName } from "./shared";

type Geofence = Schemas["GeofenceOut"];
type Rule = Schemas["GeofenceRule"];
type Severity = NonNullable<Schemas["GeofenceCreate"]["severity"]>;
const RULES: Rule[] = ["restricted", "stay_inside"];
const SEVERITIES: Severity[] = ["info", "low", "medium", "high", "critical"];

function polygon(points: LatLng[]): Record<string, unknown> {
  const ring = points.map(([lat, lng]) => [lng, lat]);
  const first = ring[0];
  if (first) ring.push(first);
  return { type: "Polygon", coordinates: [ring] };
}

function GeofenceRow({ fence }: { fence: Geofence }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const departmentName = useDepartmentName();
  const update = useMutation({
    mutationFn: async (body: Schemas["GeofenceUpdate"]) =>
      unwrap(
        await api.PATCH("/api/v1/geofences/{geofence_id}", {
          params: { path: { geofence_id: fence.id } },
          body,
        }),
      ),
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["admin", "geofences"] }),
  });
  return (
    <tr data-testid={`geofence-${fence.name}`}>
      <td>{fence.name}</td>
      <td>{departmentName(fence.department_id)}</td>
      <td>
        <select
          aria-label={t("geofences.ruleFor", { name: fence.name })}
          value={fence.rule}
          onChange={(e) => update.mutate({ rule: e.target.value as Rule })}
        >
          {RULES.map((r) => (
            <option key={r} value={r}>
              {t(`geofences.rule.${r}`)}
            </option>
          ))}
        </select>
      </td>
      <td>
        <select
          aria-label={t("geofences.severityFor", { name: fence.name })}
          value={fence.severity ?? ""}
          onChange={(e) => update.mutate({ severity: (e.target.value || null) as Severity | null })}
        >
          <option value="">{t("geofences.defaultSeverity")}</option>
          {SEVERITIES.map((s) => (
            <option key={s} value={s}>
              {t(`severity.${s}`)}
            </option>
          ))}
        </select>
      </td>
      <td>
        <label className="check">
          <input
            type="checkbox"
            checked={fence.active}
            onChange={(e) => update.mutate({ active: e.target.checked })}
          />
          {t("geofences.active")}
        </label>
        <ErrorLine error={update.error} />
      </td>
    </tr>
  );
}

export default function Geofences() {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [drawing, setDrawing] = useState(false);
  const [points, setPoints] = useState<LatLng[]>([]);
  const [name, setName] = useState("");
  const [department, setDepartment] = useState("");
  const [rule, setRule] = useState<Rule>("restricted");
  const [severity, setSeverity] = useState<"" | Severity>("");
  const list = useQuery({
    queryKey: ["admin", "geofences"],
    queryFn: async () => unwrap(await api.GET("/api/v1/geofences")).items,
  });
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/geofences", {
          body: {
            name,
            department_id: department,
            rule,
            active: true,
            severity: severity || null,
            geometry: polygon(points),
          },
        }),
      ),
    onSuccess: () => {
      setPoints([]);
      setName("");
      void queries.invalidateQueries({ queryKey: ["admin", "geofences"] });
    },
  });
  const closed = !drawing && points.length >= 3;
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  const finish = () => {
    if (points.length >= 3) setDrawing(false);
  };
  return (
    <div className="geofences">
      <div className="map-column">
        <div className="toolbar">
          {drawing ? (
            <>
              <button type="button" onClick={finish} disabled={points.length < 3}>
                {t("geofences.finish")}
              </button>
              <button
                type="button"
                className="secondary"
                disabled={points.length === 0}
                onClick={() => setPoints(points.slice(0, -1))}
              >
                {t("geofences.undo")}
              </button>
              <button
                type="button"
                className="secondary"
                onClick={() => {
                  setDrawing(false);
                  setPoints([]);
                }}
              >
                {t("common:common.cancel")}
              </button>
            </>
          ) : (
            <button
              type="button"
              onClick={() => {
                setPoints([]);
                setDrawing(true);
              }}
            >
              {t("geofences.draw")}
            </button>
          )}
          <span role="status" className="muted" data-testid="vertex-count">
            {drawing
              ? t("geofences.drawingHelp", { count: points.length })
              : closed
                ? t("geofences.closed", { count: points.length })
                : ""}
          </span>
        </div>
        <GeofenceMap
          label={t("geofences.map")}
          geofences={list.data ?? []}
          drawing={drawing}
          points={points}
          onAddPoint={(point) => setPoints((now) => [...now, point])}
          onFinish={finish}
        />
      </div>
      <div className="side">
        {closed ? (
          <section className="panel" aria-labelledby="geofence-create">
            <h2 id="geofence-create">{t("geofences.create")}</h2>
            <form className="stack" onSubmit={submit}>
              <label>
                {t("geofences.name")}
                <input value={name} required onChange={(e) => setName(e.target.value)} />
              </label>
              <DepartmentSelect label={t("users.department")} value={department} onChange={setDepartment} />
              <label>
                {t("geofences.ruleLabel")}
                <select value={rule} onChange={(e) => setRule(e.target.value as Rule)}>
                  {RULES.map((r) => (
                    <option key={r} value={r}>
                      {t(`geofences.rule.${r}`)}
                    </option>
                  ))}
                </select>
              </label>
              <label>
                {t("geofences.severityLabel")}
                <select value={severity} onChange={(e) => setSeverity(e.target.value as typeof severity)}>
                  <option value="">{t("geofences.defaultSeverity")}</option>
                  {SEVERITIES.map((s) => (
                    <option key={s} value={s}>
                      {t(`severity.${s}`)}
                    </option>
                  ))}
                </select>
              </label>
              <button type="submit" disabled={!department || create.isPending}>
                {t("geofences.save")}
              </button>
            </form>
            <ErrorLine error={create.error} />
          </section>
        ) : null}
        <ErrorLine error={list.error} />
        <table aria-label={t("tab.geofences")}>
          <thead>
            <tr>
              <th scope="col">{t("geofences.name")}</th>
              <th scope="col">{t("users.department")}</th>
              <th scope="col">{t("geofences.ruleLabel")}</th>
              <th scope="col">{t("geofences.severityLabel")}</th>
              <th scope="col">{t("geofences.active")}</th>
            </tr>
          </thead>
          <tbody>
            {(list.data ?? []).map((fence) => (
              <GeofenceRow key={fence.id} fence={fence} />
            ))}
          </tbody>
        </table>
      </div>
    </div>
  );
}
