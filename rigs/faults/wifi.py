"""The simulated wpa_supplicant's faults (:mod:`rigs.wifi.sim.supplicant`).

Switched through ``SimulatedSupplicant`` (``set_silent``, ``set_association_delay``,
``set_scan_fails``, ``set_reject_keys``, ``vanish_ap``/``restore_ap``) from a test or a script
against ``python -m rigs bench up``.
"""

from rigs.faults.registry import Fault, register

register(
    Fault(
        "supplicant_silent",
        "wifi",
        "the daemon stops answering: every pywifi call would block forever",
        "the control socket stays, datagrams are read and dropped",
    )
)
register(
    Fault(
        "association_delay",
        "wifi",
        "association takes seconds (a busy or distant AP)",
        "every later association spends `seconds` in ASSOCIATING",
        {"seconds": 1.0},
    )
)
register(
    Fault(
        "scan_fails",
        "wifi",
        "scans never produce results (a driver without a radio, as wired/wext/none)",
        "SCAN answers OK, then CTRL-EVENT-SCAN-FAILED ret=-1 instead of results",
    )
)
register(
    Fault(
        "reject_all_keys",
        "wifi",
        "the AP refuses every key, as after a key rotation on the AP",
        "the AP (BSSID or SSID) fails the 4-way handshake: WRONG_KEY, then disconnected",
        {"ap": ""},
    )
)
register(
    Fault(
        "ap_out_of_range",
        "wifi",
        "the AP goes off the air: its stations drop, scans lose it",
        "the AP (BSSID or SSID) leaves the radio until restored",
        {"ap": ""},
    )
)
