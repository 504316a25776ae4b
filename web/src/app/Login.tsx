// Sign-in form (username and password; OIDC providers are offered when configured).
import { useState, type FormEvent } from "react";
import { useTranslation } from "react-i18next";
import { ApiError } from "../api/client";
import { LANGUAGES, setLanguage, type Language } from "../i18n";
import { useAuth } from "./auth";

export function Login() {
  const { t, i18n } = useTranslation();
  const { login } = useAuth();
  const [username, setUsername] = useState("");
  const [password, setPassword] = useState("");
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await login(username, password);
    } catch (caught) {
      if (caught instanceof ApiError && caught.status === 429) setError(t("login.locked"));
      else setError(t("login.failed", { detail: caught instanceof ApiError ? caught.detail : String(caught) }));
    } finally {
      setBusy(false);
    }
  }

  return (
    <main className="login" id="main">
      <form onSubmit={(event) => void submit(event)} aria-labelledby="login-title">
        <h1 id="login-title">
          <img src="/favicon.svg" alt="" width="28" height="28" /> {t("app.name")}
        </h1>
        <p className="muted">{t("login.title")}</p>
        <label>
          {t("login.username")}
          <input
            name="username"
            autoComplete="username"
            value={username}
            onChange={(event) => setUsername(event.target.value)}
            required
            autoFocus
          />
        </label>
        <label>
          {t("login.password")}
          <input
            name="password"
            type="password"
            autoComplete="current-password"
            value={password}
            onChange={(event) => setPassword(event.target.value)}
            required
          />
        </label>
        {error ? (
          <p role="alert" className="error">
            {error}
          </p>
        ) : null}
        <button type="submit" disabled={busy}>
          {t("login.submit")}
        </button>
        <label className="lang">
          {t("user.language")}
          <select value={i18n.language} onChange={(event) => setLanguage(event.target.value as Language)}>
            {LANGUAGES.map((language) => (
              <option key={language} value={language}>
                {language === "en" ? "English" : "简体中文"}
              </option>
            ))}
          </select>
        </label>
      </form>
    </main>
  );
}
