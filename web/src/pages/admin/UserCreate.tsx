// Create a user: name, clearance, first membership and a password (typed, or generated and
// shown once). Needs users:manage in the membership's department.
import { useMutation, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { CLEARANCES, DepartmentSelect, ErrorLine, ROLES, randomPassword } from "./shared";

export function UserCreate() {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [username, setUsername] = useState("");
  const [displayName, setDisplayName] = useState("");
  const [email, setEmail] = useState("");
  const [clearance, setClearance] = useState<Schemas["UserCreateIn"]["clearance"]>("internal");
  const [department, setDepartment] = useState("");
  const [role, setRole] = useState<Schemas["Role"]>("operator");
  const [password, setPassword] = useState("");
  const [shown, setShown] = useState<{ username: string; password: string } | null>(null);

  const create = useMutation({
    mutationFn: async () => {
      const chosen = password || randomPassword();
      const body: Schemas["UserCreateIn"] = {
        username,
        display_name: displayName,
        email: email || null,
        clearance,
        password: chosen,
        memberships: department ? [{ department_id: department, role }] : [],
      };
      const user = unwrap(await api.POST("/api/v1/users", { body }));
      return { username: user.username, password: chosen };
    },
    onSuccess: (created) => {
      setShown(created);
      setUsername("");
      setDisplayName("");
      setEmail("");
      setPassword("");
      void queries.invalidateQueries({ queryKey: ["admin", "users"] });
    },
  });

  const submit = (event: FormEvent) => {
    event.preventDefault();
    setShown(null);
    create.mutate();
  };

  return (
    <section className="panel" aria-labelledby="user-create">
      <h2 id="user-create">{t("users.create")}</h2>
      <form className="inline" onSubmit={submit}>
        <label>
          {t("users.username")}
          <input value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          {t("users.displayName")}
          <input value={displayName} onChange={(e) => setDisplayName(e.target.value)} required />
        </label>
        <label>
          {t("users.email")}
          <input type="email" value={email} onChange={(e) => setEmail(e.target.value)} />
        </label>
        <label>
          {t("users.clearance")}
          <select
            value={clearance}
            onChange={(e) => setClearance(e.target.value as typeof clearance)}
          >
            {CLEARANCES.map((c) => (
              <option key={c} value={c}>
                {t(`clearance.${c}`)}
              </option>
            ))}
          </select>
        </label>
        <DepartmentSelect label={t("users.department")} value={department} onChange={setDepartment} />
        <label>
          {t("users.role")}
          <select value={role} onChange={(e) => setRole(e.target.value as Schemas["Role"])}>
            {ROLES.map((r) => (
              <option key={r} value={r}>
                {t(`role.${r}`)}
              </option>
            ))}
          </select>
        </label>
        <label>
          {t("users.initialPassword")}
          <input
            type="password"
            autoComplete="new-password"
            value={password}
            placeholder={t("users.generated")}
            onChange={(e) => setPassword(e.target.value)}
          />
        </label>
        <button type="submit" disabled={create.isPending}>
          {t("users.createButton")}
        </button>
      </form>
      <ErrorLine error={create.error} />
      {shown ? (
        <p role="status" className="once" data-testid="new-user-password">
          {t("users.passwordOnce", { username: shown.username })} <code>{shown.password}</code>
        </p>
      ) : null}
    </section>
  );
}
