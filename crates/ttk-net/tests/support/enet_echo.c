/*
 * An ENet host on the C library (Debian's libenet), for ttk's interop tests: it counts what its
 * peers send, per channel and kind, echoes every packet back on its channel with its flags, and
 * prints its counts when it ends.
 *
 *   enet_echo PEERS EXPECTED_DISCONNECTS SECONDS [KICK_AFTER]
 *
 * Binds 127.0.0.1 on a port the OS picks and prints "port N" first. Ends after
 * EXPECTED_DISCONNECTS peers disconnected, or after SECONDS. KICK_AFTER, if not 0, disconnects a
 * peer gracefully (data 0xBEEF) once it has sent that many reliable packets.
 * A peer that disconnects with data 0x77, or that this host disconnected and that acknowledged
 * it, counts as a clean disconnect; any other (a timeout) as unclean.
 */
#include <enet/enet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define CHANNELS 255

static unsigned long long reliable[CHANNELS];
static unsigned long long unreliable[CHANNELS];
static unsigned long long reliable_bytes;

static double now_seconds(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + ts.tv_nsec / 1e9;
}

int main(int argc, char **argv) {
    if (argc < 4) {
        fprintf(stderr, "usage: enet_echo PEERS EXPECTED_DISCONNECTS SECONDS [KICK_AFTER]\n");
        return 2;
    }
    size_t peers = (size_t) atol(argv[1]);
    long expected = atol(argv[2]);
    double seconds = atof(argv[3]);
    long kick_after = argc > 4 ? atol(argv[4]) : 0;
    if (enet_initialize() != 0) {
        fprintf(stderr, "enet_initialize failed\n");
        return 1;
    }
    ENetAddress address;
    enet_address_set_host_ip(&address, "127.0.0.1");
    address.port = 0;
    ENetHost *host = enet_host_create(&address, peers, CHANNELS, 0, 0);
    if (host == NULL) {
        fprintf(stderr, "enet_host_create failed\n");
        return 1;
    }
    ENetAddress bound;
    if (enet_socket_get_address(host->socket, &bound) != 0) {
        fprintf(stderr, "enet_socket_get_address failed\n");
        return 1;
    }
    printf("port %u\n", bound.port);
    fflush(stdout);

    long connects = 0, clean = 0, unclean = 0, kicked = 0;
    long *sent_by_peer = calloc(peers, sizeof(long));
    /* Whether this host disconnected the peer in the slot: its disconnect event has data 0. */
    char *kicked_slot = calloc(peers, 1);
    double end = now_seconds() + seconds;
    while (now_seconds() < end && (expected == 0 || clean + unclean < expected)) {
        ENetEvent event;
        int got = enet_host_service(host, &event, 5);
        if (got < 0) {
            fprintf(stderr, "enet_host_service failed\n");
            return 1;
        }
        if (got == 0) {
            continue;
        }
        size_t slot = event.peer ? (size_t) (event.peer - host->peers) : 0;
        switch (event.type) {
        case ENET_EVENT_TYPE_CONNECT:
            connects++;
            sent_by_peer[slot] = 0;
            kicked_slot[slot] = 0;
            break;
        case ENET_EVENT_TYPE_RECEIVE: {
            ENetPacket *packet = event.packet;
            if (packet->flags & ENET_PACKET_FLAG_RELIABLE) {
                reliable[event.channelID]++;
                reliable_bytes += packet->dataLength;
                sent_by_peer[slot]++;
            } else {
                unreliable[event.channelID]++;
            }
            ENetPacket *echo = enet_packet_create(packet->data, packet->dataLength,
                                                  packet->flags & (ENET_PACKET_FLAG_RELIABLE |
                                                                   ENET_PACKET_FLAG_UNSEQUENCED));
            enet_peer_send(event.peer, event.channelID, echo);
            enet_packet_destroy(packet);
            if (kick_after > 0 && sent_by_peer[slot] == kick_after) {
                enet_peer_disconnect_later(event.peer, 0xBEEF);
                kicked_slot[slot] = 1;
                kicked++;
            }
            break;
        }
        case ENET_EVENT_TYPE_DISCONNECT:
            if (event.data == 0x77 || kicked_slot[slot]) {
                clean++;
            } else {
                unclean++;
            }
            break;
        default:
            break;
        }
    }
    enet_host_flush(host);
    printf("connects %ld\n", connects);
    printf("clean %ld\n", clean);
    printf("unclean %ld\n", unclean);
    printf("kicked %ld\n", kicked);
    printf("reliable_bytes %llu\n", reliable_bytes);
    for (int c = 0; c < CHANNELS; c++) {
        if (reliable[c] || unreliable[c]) {
            printf("channel %d reliable %llu unreliable %llu\n", c, reliable[c], unreliable[c]);
        }
    }
    fflush(stdout);
    enet_host_destroy(host);
    enet_deinitialize();
    free(sent_by_peer);
    free(kicked_slot);
    return 0;
}
