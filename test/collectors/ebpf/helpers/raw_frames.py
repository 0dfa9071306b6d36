# Raw Ethernet frames for the eBPF tracker tests (Node has no packet sockets).
#   raw_frames.py send IFACE      hex frames on stdin, one per line, each sent as it is
#   raw_frames.py capture IFACE   prints "ready", then each frame received on IFACE as hex,
#                                 until stdin closes
import select
import socket
import struct
import sys

ETH_P_ALL = 0x0003
PACKET_OUTGOING = 4
SOL_PACKET = 263
PACKET_AUXDATA = 8
TP_STATUS_VLAN_VALID = 0x10
TP_STATUS_VLAN_TPID_VALID = 0x40


def send(ifname):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW)
    sock.bind((ifname, 0))
    count = 0
    for line in sys.stdin:
        line = line.strip()
        if line:
            sock.send(bytes.fromhex(line))
            count += 1
    print("sent %d" % count, flush=True)


def with_tag(frame, ancillary):
    """The kernel moves the outer VLAN tag into metadata before packet sockets see a frame;
    put it back where it was on the wire, as libpcap does."""
    for level, kind, data in ancillary:
        if level == SOL_PACKET and kind == PACKET_AUXDATA and len(data) >= 20:
            status, _, _, _, _, tci, tpid = struct.unpack("=IIIHHHH", data[:20])
            if status & TP_STATUS_VLAN_VALID:
                if not status & TP_STATUS_VLAN_TPID_VALID:
                    tpid = 0x8100
                return frame[:12] + struct.pack("!HH", tpid, tci) + frame[12:]
    return frame


def capture(ifname):
    sock = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_ALL))
    sock.setsockopt(SOL_PACKET, PACKET_AUXDATA, 1)
    sock.bind((ifname, 0))
    print("ready", flush=True)
    while True:
        readable, _, _ = select.select([sock, sys.stdin], [], [])
        if sys.stdin in readable and not sys.stdin.readline():
            return
        if sock in readable:
            frame, ancillary, _, address = sock.recvmsg(65535, socket.CMSG_SPACE(64))
            if address[2] != PACKET_OUTGOING:
                print(with_tag(frame, ancillary).hex(), flush=True)


if __name__ == "__main__":
    {"send": send, "capture": capture}[sys.argv[1]](sys.argv[2])
