// leaflet.markercluster extends the global `L`: make sure it is the Leaflet we bundle
// before the plugin is evaluated (import this module first).
import L from "leaflet";

(window as unknown as { L: typeof L }).L = L;
