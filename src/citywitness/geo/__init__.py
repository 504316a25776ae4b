"""Geography: geofences (zones with rules) and their enter/exit crossings."""
