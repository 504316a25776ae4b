"""The city simulator: virtual recorders that drive the platform as real clients.

A client of the platform, not a part of it: it talks to the API over HTTP(S) and to the
broker over MQTT, and imports only pure message and topic definitions from `devices`
(docs/simulator.md).
"""
