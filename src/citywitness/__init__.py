"""CityWitness: the open platform a city runs its law-enforcement recorders on."""

__version__ = "0.1.0"
