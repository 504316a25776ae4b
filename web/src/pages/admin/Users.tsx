// Users and roles: list (cursor pages), create, disable/enable, reset password, memberships.
import { useMutation, useQuery, useQueryClient } from "@tanstack/react-query";
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { api, unwrap, type Schemas } from "../../api/client";
import { useAuth } from "../../app/auth";
import {
  DepartmentSelect,
  ErrorLine,
  ROLES,
  randomPassword,
  useDepartmentName,
  useFormat,
  type User,
} from "./shared";
import { UserCreate } from "./UserCreate";

const PAGE = 50;

function MembershipEditor({ user, canManage }: { user: User; canManage: boolean }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const departmentName = useDepartmentName();
  const [department, setDepartment] = useState("");
  const [role, setRole] = useState<Schemas["Role"]>("operator");
  const refresh = () => void queries.invalidateQueries({ queryKey: ["admin", "users"] });
  const add = useMutation({
    mutationFn: async () =>
      unwrap(
        await api.POST("/api/v1/users/{user_id}/memberships", {
          params: { path: { user_id: user.id } },
          body: { department_id: department, role },
        }),
      ),
    onSuccess: refresh,
  });
  const remove = useMutation({
    mutationFn: async (membershipId: string) =>
      unwrap(
        await api.DELETE("/api/v1/users/{user_id}/memberships/{membership_id}", {
          params: { path: { user_id: user.id, membership_id: membershipId } },
        }),
      ),
    onSuccess: refresh,
  });
  const submit = (event: FormEvent) => {
    event.preventDefault();
    add.mutate();
  };
  return (
    <div>
      <ul className="memberships">
        {user.memberships.map((m) => (
          <li key={m.id}>
            {departmentName(m.department_id)}: {t(`role.${m.role}`)}
            {canManage ? (
              <button
                type="button"
                className="secondary small"
                aria-label={t("users.removeMembership", {
                  role: t(`role.${m.role}`),
                  department: departmentName(m.department_id),
                })}
                onClick={() => remove.mutate(m.id)}
              >
                ×
              </button>
            ) : null}
          </li>
        ))}
      </ul>
      {canManage ? (
        <form className="inline compact" onSubmit={submit}>
          <DepartmentSelect
            label={t("users.department")}
            value={department}
            onChange={setDepartment}
          />
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
          <button type="submit" className="secondary" disabled={!department || add.isPending}>
            {t("users.addMembership")}
          </button>
        </form>
      ) : null}
      <ErrorLine error={add.error ?? remove.error} />
    </div>
  );
}

function UserActions({ user }: { user: User }) {
  const { t } = useTranslation("admin");
  const queries = useQueryClient();
  const [newPassword, setNewPassword] = useState<string | null>(null);
  const toggle = useMutation({
    mutationFn: async () => {
      const path = { params: { path: { user_id: user.id } } };
      return unwrap(
        user.is_active
          ? await api.POST("/api/v1/users/{user_id}/disable", path)
          : await api.POST("/api/v1/users/{user_id}/enable", path),
      );
    },
    onSuccess: () => void queries.invalidateQueries({ queryKey: ["admin", "users"] }),
  });
  const reset = useMutation({
    mutationFn: async () => {
      const password = randomPassword();
      unwrap(
        await api.POST("/api/v1/users/{user_id}/password", {
          params: { path: { user_id: user.id } },
          body: { password },
        }),
      );
      return password;
    },
    onSuccess: setNewPassword,
  });
  return (
    <div className="actions">
      <button type="button" className="secondary" onClick={() => toggle.mutate()}>
        {user.is_active ? t("users.disable") : t("users.enable")}
      </button>
      <button type="button" className="secondary" onClick={() => reset.mutate()}>
        {t("users.resetPassword")}
      </button>
      {newPassword ? (
        <p role="status" className="once">
          {t("users.passwordOnce", { username: user.username })} <code>{newPassword}</code>
        </p>
      ) : null}
      <ErrorLine error={toggle.error ?? reset.error} />
    </div>
  );
}

export default function Users() {
  const { t } = useTranslation("admin");
  const { can } = useAuth();
  const format = useFormat();
  const [cursors, setCursors] = useState<(string | null)[]>([null]);
  const cursor = cursors[cursors.length - 1] ?? null;
  const list = useQuery({
    queryKey: ["admin", "users", cursor],
    queryFn: async () =>
      unwrap(
        await api.GET("/api/v1/users", {
          params: { query: { limit: PAGE, ...(cursor ? { cursor } : {}) } },
        }),
      ),
  });
  const manage = can("users:manage");
  return (
    <div>
      {manage ? <UserCreate /> : null}
      <ErrorLine error={list.error} />
      <table aria-label={t("tab.users")}>
        <thead>
          <tr>
            <th scope="col">{t("users.username")}</th>
            <th scope="col">{t("users.displayName")}</th>
            <th scope="col">{t("users.clearance")}</th>
            <th scope="col">{t("users.status")}</th>
            <th scope="col">{t("users.lastLogin")}</th>
            <th scope="col">{t("users.memberships")}</th>
            {manage ? <th scope="col">{t("actions")}</th> : null}
          </tr>
        </thead>
        <tbody>
          {(list.data?.items ?? []).map((user) => (
            <tr key={user.id} data-testid={`user-${user.username}`}>
              <td>{user.username}</td>
              <td>{user.display_name}</td>
              <td>{t(`clearance.${user.clearance}`)}</td>
              <td>{user.is_active ? t("users.active") : t("users.disabled")}</td>
              <td>{format.date(user.last_login_at)}</td>
              <td>
                <MembershipEditor user={user} canManage={manage} />
              </td>
              {manage ? (
                <td>
                  <UserActions user={user} />
                </td>
              ) : null}
            </tr>
          ))}
        </tbody>
      </table>
      <div className="toolbar pager">
        <button
          type="button"
          className="secondary"
          disabled={cursors.length < 2}
          onClick={() => setCursors(cursors.slice(0, -1))}
        >
          {t("common:common.previous")}
        </button>
        <button
          type="button"
          className="secondary"
          disabled={!list.data?.next_cursor}
          onClick={() => setCursors([...cursors, list.data?.next_cursor ?? null])}
        >
          {t("common:common.next")}
        </button>
      </div>
    </div>
  );
}
