// The evidence page: the library (search, filters, thumbnails, map of where recordings were
// made) at /evidence and one item (player, AI findings, transcript, custody and ledger
// proof, export, redaction review) at /evidence/:id.
import { Route, Routes } from "react-router-dom";
import "./evidence.css";
import { ItemPage } from "./ItemPage";
import { Library } from "./Library";

export default function EvidencePage() {
  return (
    <Routes>
      <Route index element={<Library />} />
      <Route path=":id" element={<ItemPage />} />
    </Routes>
  );
}
