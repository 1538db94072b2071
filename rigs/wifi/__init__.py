"""Wi-Fi: the pywifi station wrapper and the simulated wpa_supplicant below it.

- :class:`rigs.wifi.station.Station`: scan, associate (PSK from an environment variable), status
  (SSID, BSSID, IP), disconnect and events, every wait with a timeout, over unmodified pywifi;
- :mod:`rigs.wifi.sim`: the simulated daemon CI runs pywifi against (faults, LAN hook);
- :mod:`rigs.wifi.errors`: what can go wrong, filed as rig faults.

Importing this package does not import pywifi (its import has side effects; see
:mod:`rigs.wifi.pywifi_link`).
"""
