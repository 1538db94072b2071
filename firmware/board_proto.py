"""Board protocol 1.1 constants and payload layouts, board side (docs/board-protocol.md).

Numbers only, shared by the command handlers and the sensor's books; the rig's twin is
rigs/serial/protocol.py + rigs/serial/sensor_protocol.py, and the CI tests hold them together.
"""

try:
    from micropython import const
except ImportError:  # CPython: the same modules import for desk checks

    def const(value):
        return value


PROTOCOL_MAJOR = const(1)
PROTOCOL_MINOR = const(1)
HEADER = "<BBBH"
HEADER_SIZE = const(5)

KIND_REQUEST = const(0x01)
KIND_OK = const(0x02)
KIND_ERROR = const(0x03)
KIND_EVENT = const(0x04)

CMD_HELLO = const(0x01)
CMD_PING = const(0x02)
CMD_TIME = const(0x03)
CMD_ECHO = const(0x04)
CMD_RESET = const(0x05)
CMD_STREAM_START = const(0x10)
CMD_STREAM_STOP = const(0x11)
CMD_SENSOR_ADVERTISE = const(0x20)
CMD_SENSOR_START = const(0x21)
CMD_SENSOR_STOP = const(0x22)
CMD_SENSOR_BOOKS = const(0x23)

EV_BOOT = const(0x01)
EV_LOG = const(0x02)
EV_STREAM_DATA = const(0x10)
EV_STREAM_END = const(0x11)
EV_SENSOR_LINK = const(0x20)
EV_SENSOR_SENT = const(0x21)
EV_SENSOR_ACK = const(0x22)
EV_SENSOR_END = const(0x23)

ERR_UNKNOWN_COMMAND = const(0x01)
ERR_BAD_PAYLOAD = const(0x02)
ERR_BUSY = const(0x03)
ERR_NOT_SUPPORTED = const(0x04)
ERR_INTERNAL = const(0x05)

CAP_TIME = const(0x0001)
CAP_ECHO = const(0x0002)
CAP_STREAM = const(0x0004)
CAP_RESET = const(0x0008)
CAP_LOG = const(0x0010)
CAP_BLE_SENSOR = const(0x0020)

BOOT_POWER_ON = const(0)
BOOT_RESET_COMMAND = const(1)

LOG_DEBUG = const(0)
LOG_INFO = const(1)
LOG_WARNING = const(2)
LOG_ERROR = const(3)

END_COMPLETE = const(0)
END_STOPPED = const(1)
END_ABORTED = const(2)

RUN_IDLE = const(0)
RUN_RUNNING = const(1)
RUN_ENDED = const(2)

LINK_DISCONNECTED = const(0)
LINK_CONNECTED = const(1)
LINK_SUBSCRIBED = const(2)

MAX_PAYLOAD = const(247)
PROBE = "<IQ"  # seq u32, send_us u64: rigs/measure/probe.py
PROBE_SIZE = const(12)
STREAM_START = "<IIH"
STREAM_END = "<IIQB"
SENSOR_START = "<II"
SENSOR_BOOKS = "<HBBIIIIIQ"
SENSOR_LINK = "<BQB6s"
SENSOR_SENT = "<HIQ"
SENSOR_ACK = "<HIQQQ"
SENSOR_END = "<HBIIIIQ"
ACK_RECORD = "<IQQ"  # what the central writes: seq, send_us echoed, its recv_us
ACK_RECORD_SIZE = const(20)
MAX_NAME = const(22)
MIN_PERIOD_US = const(1000)
