//! ENet against the C library (Debian's `libenet`, hosting the server side): the reliable
//! packets the bots send are counted per channel by the C host and echoed; the counts match
//! what the bots sent, every echo comes back in order, and disconnects are clean on both
//! sides — also through an emulated 10 % loss each way, and when the C host disconnects the
//! bots. Then a ttk host shared by the bots of one loop, serving many players at once.

mod support {
    pub(crate) mod enet_c;
}

use std::io;
use std::net::SocketAddr;
use std::time::Duration;

use support::enet_c::CHost;
use ttk_core::Cx;
use ttk_macros::bot;
use ttk_net::UdpSocket;
use ttk_net::enet::{Delivery, EnetConfig, EnetHost, EnetPeer};

/// Channels each connection uses.
const CHANNELS: u8 = 4;
/// The data a bot disconnects with; the C host counts it as a clean disconnect.
const CLEAN: u32 = 0x77;
/// The data the C host disconnects a bot with.
const KICKED: u32 = 0xBEEF;

/// What one player saw.
#[derive(Debug, Default)]
struct Seen {
    /// Reliable echoes, each in order on its channel.
    reliable: u64,
    /// Unreliable echoes (some may be dropped: ENet throttles unreliable packets).
    unreliable: u64,
    /// Whether its disconnect went unacknowledged (under loss only).
    unacknowledged_disconnect: bool,
}

/// How long a bot waits for the next echo: ENet doubles a resend's timeout each time the
/// packet is lost again (from about a second before the round-trip time is known), so under
/// 10 % loss each way a channel can stall for seconds, as with the C library.
const ECHO_WAIT: Duration = Duration::from_secs(60);
/// Rounds a player plays in lockstep (each round's echoes before the next round) before the
/// rest go in a burst: ENet learns the round-trip time from them.
const LOCKSTEP: u32 = 5;

/// A player: connects (through `net`'s conditions, if any), sends `per_channel` reliable
/// packets on each channel and as many unreliable ones on channel 0, checks that every reliable
/// echo comes back in order, then disconnects cleanly.
#[bot(crate = ttk_core)]
fn player(
    _cx: Cx,
    id: usize,
    server: SocketAddr,
    per_channel: u32,
    net: Option<&'static str>,
) -> io::Result<Seen> {
    let mut socket = UdpSocket::bind("127.0.0.1:0")?;
    if let Some(net) = net {
        socket.set_conditions(&net.parse().unwrap());
    }
    let config = EnetConfig {
        channels: usize::from(CHANNELS),
        ..EnetConfig::default()
    };
    let host = EnetHost::on(socket, &config)?;
    let peer = ttk_core::yield_!(host.connect(server))?;
    let mut seen = Seen::default();
    let mut next = [0u32; CHANNELS as usize];
    for seq in 0..per_channel {
        for channel in 0..CHANNELS {
            let data = format!("r {id} {channel} {seq}");
            peer.send(channel, data.as_bytes(), Delivery::Reliable)?;
        }
        peer.send(0, format!("u {id} {seq}").as_bytes(), Delivery::Unreliable)?;
        if seq < LOCKSTEP {
            let wanted = u64::from(seq + 1) * u64::from(CHANNELS);
            while seen.reliable < wanted {
                ttk_core::yield_!(take_echo(&peer, id, &mut seen, &mut next))?;
            }
        }
    }
    let wanted = u64::from(per_channel) * u64::from(CHANNELS);
    while seen.reliable < wanted {
        ttk_core::yield_!(take_echo(&peer, id, &mut seen, &mut next))?;
    }
    match ttk_core::yield_!(peer.disconnect_with(CLEAN)) {
        Ok(()) => {}
        // Under loss the host's one acknowledgement of the disconnect may be lost (ENet does
        // not send it again); the host's count says whether it had the disconnect.
        Err(error) if net.is_some() && error.kind() == io::ErrorKind::TimedOut => {
            seen.unacknowledged_disconnect = true;
        }
        Err(error) => return Err(error),
    }
    Ok(seen)
}

/// Takes the next echo and checks it: a reliable one is the bot's own, on its channel, next in
/// that channel's order (`next`).
async fn take_echo(
    peer: &EnetPeer,
    id: usize,
    seen: &mut Seen,
    next: &mut [u32; CHANNELS as usize],
) -> io::Result<()> {
    let packet = ttk_core::timeout(ECHO_WAIT, peer.recv())
        .await
        .map_err(|_| io::Error::other(format!("bot {id}: echoes stopped at {seen:?}")))??
        .ok_or_else(|| io::Error::other(format!("bot {id}: disconnected at {seen:?}")))?;
    let text = String::from_utf8(packet.data().to_vec()).unwrap();
    let words: Vec<&str> = text.split(' ').collect();
    match words[0] {
        "r" => {
            let (channel, seq): (u8, u32) = (words[2].parse().unwrap(), words[3].parse().unwrap());
            assert_eq!(words[1], id.to_string(), "another bot's echo");
            assert_eq!(channel, packet.channel(), "echoed on another channel");
            let expected = &mut next[usize::from(channel)];
            assert_eq!(seq, *expected, "out of order on channel {channel}");
            *expected += 1;
            seen.reliable += 1;
        }
        _ => seen.unreliable += 1,
    }
    Ok(())
}

/// Runs `bots` players against the C host with `per_channel` packets each, and checks the
/// host's counts against theirs.
fn against_c_host(bots: usize, per_channel: u32, net: Option<&'static str>) {
    let Some(c_host) = CHost::start(bots, bots, 60, 0) else {
        return;
    };
    let server = c_host.addr;
    let outcomes = ttk_core::run(bots, |cx, id| player(cx, id, server, per_channel, net));
    let mut unreliable_echoes = 0;
    let mut unacknowledged = 0;
    for (id, outcome) in outcomes.into_iter().enumerate() {
        let seen = outcome.unwrap_or_else(|error| panic!("bot {id}: {error}"));
        assert_eq!(seen.reliable, u64::from(per_channel) * u64::from(CHANNELS));
        unreliable_echoes += seen.unreliable;
        unacknowledged += u64::from(seen.unacknowledged_disconnect);
    }
    eprintln!("disconnects the host did not acknowledge in time: {unacknowledged} of {bots}");
    let counts = c_host.finish();
    let sent = bots as u64 * u64::from(per_channel);
    assert_eq!(counts.connects, bots as u64, "{counts:?}");
    assert_eq!(
        (counts.clean, counts.unclean),
        (bots as u64, 0),
        "{counts:?}"
    );
    for channel in 0..CHANNELS {
        let (reliable, unreliable) = counts.channels.get(&channel).copied().unwrap_or_default();
        assert_eq!(reliable, sent, "channel {channel}: {counts:?}");
        if channel == 0 {
            assert!(unreliable <= sent, "{counts:?}");
            assert!(unreliable_echoes <= unreliable, "{counts:?}");
        } else {
            assert_eq!(unreliable, 0, "{counts:?}");
        }
    }
    // Unreliable packets beside a reliable stream are ENet's to drop (its throttle, and
    // those overtaken by the channel's reliable sequence): some arrive, none twice.
    assert!(counts.channels[&0].1 > 0, "{counts:?}");
}

#[test]
fn the_c_library_counts_every_reliable_packet_per_channel_and_echoes_it_in_order() {
    against_c_host(20, 50, None);
}

#[test]
fn every_reliable_packet_arrives_through_ten_percent_loss_each_way() {
    against_c_host(8, 20, Some("loss=10%"));
}

#[test]
fn unsequenced_packets_at_a_players_pace_all_arrive_on_loopback() {
    let Some(c_host) = CHost::start(1, 1, 30, 0) else {
        return;
    };
    let server = c_host.addr;
    let outcomes = ttk_core::run(1, |_cx: Cx, _id| async move {
        let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
        for seq in 0..100u32 {
            peer.send(0, &seq.to_le_bytes(), Delivery::Unsequenced)?;
            peer.sleep(Duration::from_millis(1)).await?;
        }
        // The echoes, as many as come within a moment.
        let mut echoes = 0;
        while let Ok(packet) = ttk_core::timeout(Duration::from_millis(200), peer.recv()).await {
            packet?.expect("connected");
            echoes += 1;
        }
        peer.disconnect_with(CLEAN).await?;
        io::Result::Ok(echoes)
    });
    let echoes = outcomes.into_iter().next().unwrap().unwrap();
    let counts = c_host.finish();
    assert_eq!(counts.channels[&0], (0, 100), "{counts:?}");
    assert_eq!(echoes, 100);
}

#[test]
fn large_packets_go_in_fragments_both_ways() {
    let Some(c_host) = CHost::start(1, 1, 30, 0) else {
        return;
    };
    let server = c_host.addr;
    let sizes = [1usize, 1_400, 5_000, 100_000, 1_000_000];
    let outcomes = ttk_core::run(1, |_cx: Cx, _id| async move {
        let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
        let mut echoed = Vec::new();
        for (k, size) in sizes.iter().enumerate() {
            let data: Vec<u8> = (0..*size).map(|i| (i * 7 + k) as u8).collect();
            peer.send(0, &data, Delivery::Reliable)?;
            let echo = peer.recv().await?.expect("connected");
            assert!(
                echo.data() == data,
                "packet {k} of {size} bytes came back changed"
            );
            echoed.push(echo.data().len());
        }
        peer.disconnect_with(CLEAN).await?;
        io::Result::Ok(echoed)
    });
    let echoed = outcomes.into_iter().next().unwrap().unwrap();
    assert_eq!(echoed, sizes);
    let counts = c_host.finish();
    assert_eq!(counts.reliable_bytes, sizes.iter().sum::<usize>() as u64);
    assert_eq!((counts.clean, counts.unclean), (1, 0));
}

#[test]
fn a_bot_disconnected_by_the_c_host_sees_the_end_and_its_data() {
    let kick_after = 5;
    let Some(c_host) = CHost::start(4, 4, 30, kick_after) else {
        return;
    };
    let server = c_host.addr;
    let outcomes = ttk_core::run(4, |_cx: Cx, _id| async move {
        let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
        for seq in 0..20u32 {
            if peer
                .send(0, &seq.to_le_bytes(), Delivery::Reliable)
                .is_err()
            {
                break;
            }
            peer.sleep(Duration::from_millis(2)).await?;
        }
        let mut echoes = 0;
        while peer.recv().await?.is_some() {
            echoes += 1;
        }
        io::Result::Ok((echoes, peer.disconnect_data(), peer.is_connected()))
    });
    for outcome in outcomes {
        let (echoes, data, connected) = outcome.unwrap();
        assert!(echoes >= kick_after, "{echoes} echoes before the end");
        assert_eq!(data, Some(KICKED));
        assert!(!connected);
    }
    let counts = c_host.finish();
    assert_eq!(counts.kicked, 4, "{counts:?}");
    assert_eq!((counts.clean, counts.unclean), (4, 0), "{counts:?}");
}

/// Where a test's server bot listens, told to its other bots once it is bound: a port found
/// free, let go and bound again later can be taken meanwhile by a test running beside it (seen
/// in CI as `AddrInUse`).
#[derive(Clone, Default)]
struct Told(std::rc::Rc<std::cell::Cell<Option<SocketAddr>>>);

impl Told {
    /// Tells the others where the server listens.
    fn tell(&self, addr: SocketAddr) {
        self.0.set(Some(addr));
    }

    /// Waits until the server has said where it listens.
    async fn wait(&self) -> SocketAddr {
        loop {
            if let Some(addr) = self.0.get() {
                return addr;
            }
            ttk_core::sleep(Duration::from_millis(1)).await;
        }
    }
}

/// What the bots of the shared-host test pass: a connection to serve.
type Handoff = Option<EnetPeer>;

/// One loop plays both sides: bot 0 accepts `players` connections on one host and starts a
/// bot to serve each; bots 1..=players are the players.
#[bot(crate = ttk_core)]
fn shared_host_bot(cx: Cx<Handoff>, id: usize, server: Told, players: usize) -> io::Result<u64> {
    const PACKETS: u64 = 20;
    if id == 0 {
        let config = EnetConfig {
            peers: players,
            channels: 2,
            ..EnetConfig::default()
        };
        let host = EnetHost::bind("127.0.0.1:0", &config)?;
        server.tell(host.local_addr()?);
        for _ in 0..players {
            let connection = ttk_core::yield_!(host.accept())?;
            let server_bot = cx.start_bots(1).start;
            cx.send(server_bot, Some(connection));
        }
        return Ok(0);
    }
    if id > players {
        // Serves one player: echoes until it leaves.
        let connection = ttk_core::yield_!(cx.recv()).data.expect("a connection");
        let mut echoed = 0;
        while let Some(packet) = ttk_core::yield_!(connection.recv())? {
            connection.send(packet.channel(), packet.data(), Delivery::Reliable)?;
            echoed += 1;
        }
        return Ok(echoed);
    }
    let config = EnetConfig {
        channels: 2,
        ..EnetConfig::default()
    };
    // The players come over the first 100 ms.
    ttk_core::yield_!(ttk_core::sleep(Duration::from_micros(100 * id as u64)));
    let server = ttk_core::yield_!(server.wait());
    let peer = ttk_core::yield_!(EnetPeer::connect(server, &config))?;
    for seq in 0..PACKETS {
        peer.send((seq % 2) as u8, &seq.to_le_bytes(), Delivery::Reliable)?;
        let echo = ttk_core::yield_!(peer.recv())?.expect("connected");
        assert_eq!(echo.data(), seq.to_le_bytes());
    }
    ttk_core::yield_!(peer.disconnect())?;
    Ok(PACKETS)
}

#[test]
fn one_host_shared_by_the_bots_of_a_loop_serves_every_player() {
    let players = 300;
    let server = Told::default();
    let outcomes = ttk_core::run(1 + players, move |cx, id| {
        shared_host_bot(cx, id, server.clone(), players)
    });
    assert_eq!(outcomes.len(), 1 + 2 * players);
    let results: Vec<u64> = outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .collect();
    let played: u64 = results[1..=players].iter().sum();
    let served: u64 = results[players + 1..].iter().sum();
    assert_eq!(played, 20 * players as u64);
    assert_eq!(served, played);
}

/// What the bots of the hand-over test pass: a connection to serve.
type Served = Option<EnetPeer>;

/// Bot 0 accepts three connections and starts a bot to serve each (bots 2, 3, 4, which wait
/// in that order); bot 1 is the client. The first two connections' packets come together:
/// the first server bot services the host, wakes the second for its packet, and is done; the
/// second, woken by its packet and for the turn at once, is done too — the third must still
/// get its packet, which comes later.
#[bot(crate = ttk_core)]
fn hand_over_bot(cx: Cx<Served>, id: usize, server: Told) -> io::Result<bool> {
    let config = EnetConfig {
        peers: 3,
        ..EnetConfig::default()
    };
    match id {
        0 => {
            let host = EnetHost::bind("127.0.0.1:0", &config)?;
            server.tell(host.local_addr()?);
            for _ in 0..3 {
                let connection = ttk_core::yield_!(host.accept())?;
                let server_bot = cx.start_bots(1).start;
                cx.send(server_bot, Some(connection));
            }
            Ok(true)
        }
        1 => {
            let server = ttk_core::yield_!(server.wait());
            let host = EnetHost::bind("127.0.0.1:0", &config)?;
            let peers: Vec<EnetPeer> = (0..3)
                .map(|_| host.start_connect(server))
                .collect::<io::Result<_>>()?;
            for peer in &peers {
                ttk_core::yield_!(peer.connected())?;
            }
            // Let the server bots start and wait.
            ttk_core::yield_!(peers[2].sleep(Duration::from_millis(50)))?;
            peers[0].send(0, b"first", Delivery::Reliable)?;
            peers[1].send(0, b"second", Delivery::Reliable)?;
            ttk_core::yield_!(peers[2].sleep(Duration::from_millis(50)))?;
            peers[2].send(0, b"third", Delivery::Reliable)?;
            ttk_core::yield_!(peers[2].sleep(Duration::from_millis(500)))?;
            Ok(true)
        }
        _ => {
            let connection = ttk_core::yield_!(cx.recv()).data.expect("a connection");
            let got =
                ttk_core::yield_!(ttk_core::timeout(Duration::from_secs(2), connection.recv()));
            // Stays connected, without waiting on the host, while the others go on.
            ttk_core::yield_!(ttk_core::sleep(Duration::from_millis(600)));
            Ok(matches!(got, Ok(Ok(Some(_)))))
        }
    }
}

#[test]
fn the_service_of_a_shared_host_is_handed_on_when_the_bot_woken_for_it_leaves() {
    let server = Told::default();
    let outcomes = ttk_core::run(2, move |cx, id| hand_over_bot(cx, id, server.clone()));
    let got: Vec<bool> = outcomes
        .into_iter()
        .map(|outcome| outcome.unwrap())
        .collect();
    assert_eq!(got, [true; 5], "server bots 2, 3, 4 each got their packet");
}

#[test]
fn a_bot_that_does_not_read_has_its_connection_reset_past_max_queued() {
    let told = Told::default();
    let outcomes = ttk_core::run(2, move |_cx: Cx, id| {
        let told = told.clone();
        async move {
            if id == 0 {
                let config = EnetConfig {
                    max_queued: 5,
                    ..EnetConfig::default()
                };
                let host = EnetHost::bind("127.0.0.1:0", &config)?;
                told.tell(host.local_addr()?);
                let player = host.accept().await?;
                // Does not read while ten come.
                player.sleep(Duration::from_millis(200)).await?;
                let mut read = 0;
                loop {
                    match player.recv().await {
                        Ok(Some(_)) => read += 1,
                        Ok(None) => return Ok(format!("ended after {read}")),
                        Err(error) => {
                            return Ok(format!("{read} then {:?}: {error}", error.kind()));
                        }
                    }
                }
            }
            let server = told.wait().await;
            let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
            for k in 0..10u8 {
                peer.send(0, &[k], Delivery::Reliable)?;
            }
            peer.sleep(Duration::from_millis(300)).await?;
            io::Result::Ok(String::new())
        }
    });
    let said = outcomes[0].as_ref().unwrap();
    // What waited goes with the connection: memory stays bounded.
    assert!(
        said.starts_with("0 then InvalidData: more than 5 ENet packets"),
        "{said}"
    );
}

#[test]
fn a_full_c_host_leaves_the_extra_player_with_a_named_timeout() {
    // The C host has room for 2; ENet ignores a third's request, and the bot says so in time.
    let Some(c_host) = CHost::start(2, 2, 30, 0) else {
        return;
    };
    let server = c_host.addr;
    let outcomes = ttk_core::run(3, |_cx: Cx, id| async move {
        // The third comes last.
        ttk_core::sleep(Duration::from_millis(50 * id as u64)).await;
        let config = EnetConfig {
            connect_timeout: Duration::from_millis(500),
            ..EnetConfig::default()
        };
        let peer = EnetPeer::connect(server, &config).await?;
        // Held well past the third's connect timeout (it gives up by 600 ms): a slot freed
        // before then would take the third in, whose disconnect would then find the host gone
        // (it ends after two).
        peer.sleep(Duration::from_millis(1_500)).await?;
        peer.disconnect_with(CLEAN).await
    });
    assert!(outcomes[0].is_ok() && outcomes[1].is_ok(), "{outcomes:?}");
    let third = outcomes[2].as_ref().unwrap_err();
    assert_eq!(third.kind(), io::ErrorKind::TimedOut, "{third}");
    assert!(
        third.to_string().contains("no ENet connection to"),
        "{third}"
    );
    let counts = c_host.finish();
    assert_eq!((counts.connects, counts.clean), (2, 2), "{counts:?}");
}

#[test]
fn a_bot_whose_c_host_dies_fails_with_a_named_timeout_not_a_clean_end() {
    let Some(c_host) = CHost::start(2, 2, 30, 0) else {
        return;
    };
    let server = c_host.addr;
    // The host dies once both players had an echo: no disconnect comes, only silence.
    let killer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(800));
        c_host.kill();
    });
    let outcomes = ttk_core::run(2, |_cx: Cx, id| async move {
        let peer = EnetPeer::connect(server, &EnetConfig::default()).await?;
        // ENet gives up after 200 ms to 1 s without acknowledgements, not the default 5-30 s.
        peer.set_timeout(4, Duration::from_millis(200), Duration::from_secs(1));
        peer.send(0, format!("r {id} 0 0").as_bytes(), Delivery::Reliable)?;
        let echo = ttk_core::timeout(Duration::from_secs(5), peer.recv()).await??;
        assert!(echo.is_some(), "the host echoed while alive");
        // Then only the pings ENet sends (reliable, so acknowledged while the host lives).
        let after_death = ttk_core::timeout(Duration::from_secs(10), peer.recv()).await?;
        io::Result::Ok((
            after_death.map(|packet| packet.map(|_| ())),
            peer.disconnect_data(),
        ))
    });
    killer.join().unwrap();
    for outcome in outcomes {
        let (after_death, data) = outcome.unwrap();
        let error = after_death.unwrap_err();
        assert_eq!(error.kind(), io::ErrorKind::TimedOut, "{error}");
        assert!(error.to_string().contains("stopped answering"), "{error}");
        assert_eq!(data, None, "it did not disconnect");
    }
}
