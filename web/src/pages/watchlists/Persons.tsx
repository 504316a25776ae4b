// The face watch list of a department: persons (label, reason, expiry, who added them),
// enrolment photos (only the face's embedding is kept), candidates for human confirmation
// (faces:match), and the department's face-matching switch (off by default).
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { Link, Route, Routes, useParams } from "react-router-dom";
import { api, unwrap } from "../../api/client";
import { useAuth } from "../../app/auth";
import { useDepartmentsWith } from "../../app/departments";
import { daysFromNow, DepartmentPicker, ErrorLine, localToIso, useDate } from "./common";
import { PersonDetail } from "./PersonDetail";

export function Persons() {
  return (
    <Routes>
      <Route index element={<PersonList />} />
      <Route path=":personId" element={<PersonRoute />} />
    </Routes>
  );
}

function PersonRoute() {
  const { personId = "" } = useParams();
  return <PersonDetail personId={personId} />;
}

function PersonList() {
  const { t } = useTranslation("watchlists");
  const { can } = useAuth();
  const date = useDate();
  const departments = useDepartmentsWith("watchlists:read");
  const [department, setDepartment] = useState("");
  const departmentId = department || departments[0]?.id || "";
  const persons = useQuery({
    queryKey: ["watchlists", "persons", departmentId],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/faces/persons", {
          params: { query: { department_id: departmentId, active_only: false } },
        }),
      ).items,
    enabled: departmentId !== "",
  });
  return (
    <div>
      <div className="toolbar">
        <DepartmentPicker departments={departments} value={departmentId} onChange={setDepartment} />
      </div>
      {departmentId ? <Policy departmentId={departmentId} /> : null}
      <ErrorLine error={persons.error} />
      <table aria-label={t("persons.list")}>
        <thead>
          <tr>
            <th scope="col">{t("persons.label")}</th>
            <th scope="col">{t("persons.reason")}</th>
            <th scope="col">{t("persons.expires")}</th>
            <th scope="col">{t("persons.state")}</th>
          </tr>
        </thead>
        <tbody>
          {(persons.data ?? []).map((person) => (
            <tr key={person.id}>
              <td>
                <Link to={`/watchlists/persons/${person.id}`}>{person.label}</Link>
              </td>
              <td>{person.reason}</td>
              <td>{date(person.expires_at)}</td>
              <td>{person.active ? t("plates.active") : t("plates.inactive")}</td>
            </tr>
          ))}
          {persons.data?.length === 0 ? (
            <tr>
              <td colSpan={4} className="muted">
                {t("persons.none")}
              </td>
            </tr>
          ) : null}
        </tbody>
      </table>
      {can("watchlists:manage") && departmentId ? <NewPerson departmentId={departmentId} /> : null}
    </div>
  );
}

function Policy({ departmentId }: { departmentId: string }) {
  const { t } = useTranslation("watchlists");
  const { can } = useAuth();
  const queries = useQueryClient();
  const key = ["watchlists", "policy", departmentId];
  const policy = useQuery({
    queryKey: key,
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/watchlists/faces/policy/{department_id}", {
          params: { path: { department_id: departmentId } },
        }),
      ),
  });
  const change = useMutation({
    mutationFn: async (enabled: boolean) =>
      unwrap(
        await api.PUT("/api/v1/watchlists/faces/policy/{department_id}", {
          params: { path: { department_id: departmentId } },
          body: { enabled },
        }),
      ),
    onSuccess: (data) => queries.setQueryData(key, data),
  });
  if (!policy.data) return <ErrorLine error={policy.error} />;
  return (
    <div className="panel policy">
      <strong>{policy.data.enabled ? t("persons.matchingOn") : t("persons.matchingOff")}</strong>
      <span className="muted"> {t("persons.matchingHelp")}</span>
      {can("watchlists:manage") ? (
        <button type="button" className="secondary" onClick={() => change.mutate(!policy.data.enabled)}>
          {policy.data.enabled ? t("persons.switchOff") : t("persons.switchOn")}
        </button>
      ) : null}
      <ErrorLine error={change.error} />
    </div>
  );
}

function NewPerson({ departmentId }: { departmentId: string }) {
  const { t } = useTranslation("watchlists");
  const queries = useQueryClient();
  const [label, setLabel] = useState("");
  const [reason, setReason] = useState("");
  const [expires, setExpires] = useState(daysFromNow(90));
  const create = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/watchlists/faces/persons", {
          body: { department_id: departmentId, label, reason, expires_at: localToIso(expires) ?? "" },
        }),
      ),
    onSuccess: () => {
      setLabel("");
      setReason("");
      void queries.invalidateQueries({ queryKey: ["watchlists", "persons"] });
    },
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    create.mutate();
  };
  return (
    <form className="panel inline" onSubmit={submit} aria-label={t("persons.new")}>
      <h2>{t("persons.new")}</h2>
      <label>
        {t("persons.label")}
        <input value={label} onChange={(e) => setLabel(e.target.value)} required maxLength={200} />
      </label>
      <label>
        {t("persons.reason")}
        <input value={reason} onChange={(e) => setReason(e.target.value)} required maxLength={2000} />
      </label>
      <label>
        {t("persons.expires")}
        <input type="datetime-local" value={expires} onChange={(e) => setExpires(e.target.value)} required />
      </label>
      <button type="submit" disabled={create.isPending}>
        {t("plates.add")}
      </button>
      <ErrorLine error={create.error} />
    </form>
  );
}
