package dlinterop;

import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URI;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.apache.bookkeeper.bookie.Cookie;
import org.apache.bookkeeper.client.BookKeeperAdmin;
import org.apache.bookkeeper.client.api.BookKeeper;
import org.apache.bookkeeper.client.api.DigestType;
import org.apache.bookkeeper.client.api.LastConfirmedAndEntry;
import org.apache.bookkeeper.client.api.LedgerEntries;
import org.apache.bookkeeper.client.api.LedgerEntry;
import org.apache.bookkeeper.client.api.ReadHandle;
import org.apache.bookkeeper.client.api.WriteHandle;
import org.apache.bookkeeper.conf.ClientConfiguration;
import org.apache.bookkeeper.conf.ServerConfiguration;
import org.apache.bookkeeper.meta.MetadataDrivers;
import org.apache.bookkeeper.net.BookieId;
import org.apache.bookkeeper.proto.BookieClient;
import org.apache.bookkeeper.util.AvailabilityOfEntriesOfLedger;
import org.apache.distributedlog.DLSN;
import org.apache.distributedlog.DistributedLogConfiguration;
import org.apache.distributedlog.LogRecord;
import org.apache.distributedlog.LogRecordWithDLSN;
import org.apache.distributedlog.LogSegmentMetadata;
import org.apache.distributedlog.api.AsyncLogReader;
import org.apache.distributedlog.api.AsyncLogWriter;
import org.apache.distributedlog.api.DistributedLogManager;
import org.apache.distributedlog.api.namespace.Namespace;
import org.apache.distributedlog.api.namespace.NamespaceBuilder;
import org.apache.distributedlog.exceptions.EndOfStreamException;
import org.apache.distributedlog.impl.metadata.BKDLConfig;
import org.apache.distributedlog.metadata.DLMetadata;

/**
 * The Java side of the interop suite: one request per stdin line ("command arg..."), one answer per
 * stdout line ("ok value..." or "err ExceptionClass message"). Byte strings travel as hex, lists
 * comma-separated, DLSNs as seq/entry/slot. Logging goes to stderr so stdout stays the protocol.
 */
public final class Harness {
    private static final long TIMEOUT_S = 60;

    private final PrintStream out;
    private BookKeeper bk;
    private BookKeeperAdmin admin;
    private ClientConfiguration clientConf;
    private final Map<Long, WriteHandle> writers = new HashMap<>();
    private final Map<Long, ReadHandle> readers = new HashMap<>();
    private Namespace ns;
    private String[] namespaceArgs;
    private final Map<String, DistributedLogManager> logs = new HashMap<>();
    private final Map<String, AsyncLogWriter> logWriters = new HashMap<>();

    private Harness(PrintStream out) {
        this.out = out;
    }

    public static void main(String[] args) throws Exception {
        PrintStream protocol = new PrintStream(System.out, true, StandardCharsets.UTF_8);
        // libraries that print to stdout must not corrupt the protocol stream
        System.setOut(System.err);
        Harness h = new Harness(protocol);
        BufferedReader in = new BufferedReader(new InputStreamReader(System.in, StandardCharsets.UTF_8));
        protocol.println("ready");
        String line;
        while ((line = in.readLine()) != null) {
            if (line.isBlank()) {
                continue;
            }
            String[] a = line.trim().split(" ");
            if (a[0].equals("quit")) {
                break;
            }
            try {
                protocol.println("ok " + h.run(a).trim());
            } catch (Throwable t) {
                Throwable c = t;
                while ((c instanceof ExecutionException || c instanceof java.util.concurrent.CompletionException)
                        && c.getCause() != null) {
                    c = c.getCause();
                }
                System.err.println("command failed: " + line);
                c.printStackTrace();
                String msg = String.valueOf(c.getMessage()).replace('\n', ' ');
                protocol.println("err " + c.getClass().getSimpleName() + " " + msg);
            }
        }
        h.shutdown();
        protocol.println("bye");
        System.exit(0);
    }

    private String run(String[] a) throws Exception {
        switch (a[0]) {
            case "init": return initCluster(a[1]);
            case "bk": return connect(a);
            case "bookies": return sorted(admin.getAvailableBookies());
            case "robookies": return sorted(admin.getReadOnlyBookies());
            case "allbookies": return sorted(admin.getAllBookies());
            case "cookie": return cookie(a[1], a[2], a[3]);
            case "entriesof": return entriesOf(a[1], Long.parseLong(a[2]));
            case "availability": return availability(a[1]);
            case "benchadd": return benchAdd(a);
            case "benchdl": return benchDl(a);
            case "create": return create(a);
            case "append": return String.valueOf(writer(a[1]).append(hex(a[2])));
            case "appendmany": return appendMany(a);
            case "close": return closeLedger(Long.parseLong(a[1]));
            case "open": return open(a);
            case "read": return read(a);
            case "lac": return String.valueOf(reader(a[1]).readLastAddConfirmed());
            case "longpoll": return longPoll(a);
            case "ensembles": return ensembles(a[1]);
            case "state": return reader(a[1]).getLedgerMetadata().getState() + " "
                    + reader(a[1]).getLedgerMetadata().getLastEntryId();
            case "ledgers": return listLedgers();
            case "delete": bk.newDeleteLedgerOp().withLedgerId(Long.parseLong(a[1])).execute().get(TIMEOUT_S, TimeUnit.SECONDS);
                return "";
            case "dlbind": return dlBind(a[1], a[2], a[3]);
            case "dlns": return dlNamespace(a);
            case "dllogs": return dlLogs();
            case "dlreopenns": return dlReopenNamespace();
            case "dlopenwriter": return dlOpenWriter(a[1], a.length > 2 ? Long.parseLong(a[2]) : TIMEOUT_S * 1000);
            case "dlwrite": return dlWrite(a);
            case "dleos": return String.valueOf(logWriters.get(a[1]).markEndOfStream().get(TIMEOUT_S, TimeUnit.SECONDS));
            case "dltruncate": return String.valueOf(logWriters.get(a[1]).truncate(parseDlsn(a[2])).get(TIMEOUT_S, TimeUnit.SECONDS));
            case "dlclosewriter": return dlCloseWriter(a[1]);
            case "dlread": return dlRead(a);
            case "dlsegments": return dlSegments(a[1]);
            case "dlsubset": log(a[1]).getSubscriptionsStore().advanceCommitPosition(a[2], parseDlsn(a[3])).get(TIMEOUT_S, TimeUnit.SECONDS);
                return "";
            case "dlsubget": return dlsn(log(a[1]).getSubscriptionsStore().getLastCommitPosition(a[2]).get(TIMEOUT_S, TimeUnit.SECONDS));
            default: throw new IllegalArgumentException("unknown command " + a[0]);
        }
    }

    /** What BookKeeperAdmin.initNewCluster writes: root, available, available/readonly, INSTANCEID, LAYOUT. */
    private String initCluster(String metadataUri) throws Exception {
        ServerConfiguration conf = new ServerConfiguration();
        conf.setMetadataServiceUri(metadataUri);
        return String.valueOf(BookKeeperAdmin.initNewCluster(conf));
    }

    /** bk URI key=value...: a BK client and admin on the cluster, with ClientConfiguration properties. */
    private String connect(String[] a) throws Exception {
        clientConf = new ClientConfiguration();
        clientConf.setMetadataServiceUri(a[1]);
        clientConf.setAddEntryTimeout(5);
        clientConf.setReadEntryTimeout(5);
        clientConf.setZkTimeout(10000);
        for (int i = 2; i < a.length; i++) {
            String[] kv = a[i].split("=", 2);
            clientConf.setProperty(kv[0], kv[1]);
        }
        bk = BookKeeper.newBuilder(clientConf).build();
        admin = new BookKeeperAdmin(clientConf);
        return "";
    }

    /**
     * cookie BOOKIEID JOURNALDIR LEDGERDIR,...: what a Java bookie with this id and these dirs checks
     * at start (LegacyCookieValidation): its master cookie (with the cluster's INSTANCEID) must
     * verify against the cookie under cookies/ and the one in every dir's current/VERSION. Answers
     * the registration manager's cookie, re-serialized by Java, as hex.
     */
    private String cookie(String bookieId, String journalDir, String ledgerDirs) throws Exception {
        ServerConfiguration conf = new ServerConfiguration();
        conf.setMetadataServiceUri(clientConf.getMetadataServiceUri());
        conf.setBookieId(bookieId);
        conf.setJournalDirName(journalDir);
        conf.setLedgerDirNames(ledgerDirs.split(","));
        return MetadataDrivers.runFunctionWithRegistrationManager(conf, rm -> {
            try {
                Cookie master = Cookie.generateCookie(conf).setInstanceId(rm.getClusterInstanceId()).build();
                Cookie registered = Cookie.readFromRegistrationManager(rm, BookieId.parse(bookieId)).getValue();
                master.verify(registered);
                List<String> dirs = new ArrayList<>(List.of(journalDir));
                dirs.addAll(List.of(ledgerDirs.split(",")));
                for (String dir : dirs) {
                    master.verify(Cookie.readFromDirectory(new File(dir, "current")));
                }
                return toHex(registered.toString().getBytes(StandardCharsets.UTF_8));
            } catch (Exception e) {
                throw new RuntimeException(e);
            }
        });
    }

    /** entriesof BOOKIE LEDGER: GET_LIST_OF_ENTRIES_OF_LEDGER through Java's BookieClient; answers count and body hex. */
    private String entriesOf(String bookie, long ledgerId) throws Exception {
        // BookKeeper#getBookieClient is package-private; the auditor's replicas check is its only caller
        Method m = org.apache.bookkeeper.client.BookKeeper.class.getDeclaredMethod("getBookieClient");
        m.setAccessible(true);
        BookieClient client = (BookieClient) m.invoke(bk);
        AvailabilityOfEntriesOfLedger av = client.getListOfEntriesOfLedger(BookieId.parse(bookie), ledgerId)
                .get(TIMEOUT_S, TimeUnit.SECONDS);
        return av.getTotalNumOfAvailableEntries() + " " + toHex(av.serializeStateOfEntriesOfLedger());
    }

    /** availability ID,ID...: Java's own serialization of these entry ids, as hex. */
    private String availability(String ids) {
        long[] entries = ids.equals("-") ? new long[0] : java.util.Arrays.stream(ids.split(",")).mapToLong(Long::parseLong).toArray();
        return toHex(new AvailabilityOfEntriesOfLedger(entries).serializeStateOfEntriesOfLedger());
    }

    /** What a timed run reports: count, elapsed ns, p50 and p99 latency in µs. */
    private static String benchResult(int count, long elapsedNs, long[] latNs) {
        long[] lat = java.util.Arrays.copyOf(latNs, count);
        java.util.Arrays.sort(lat);
        return count + " " + elapsedNs + " " + percentileUs(lat, 50) + " " + percentileUs(lat, 99);
    }

    private static long percentileUs(long[] sorted, int p) {
        if (sorted.length == 0) {
            return -1;
        }
        int i = Math.min(sorted.length - 1, Math.max(0, (int) Math.ceil(p / 100.0 * sorted.length) - 1));
        return sorted[i] / 1000;
    }

    /**
     * Runs `op` with at most `inFlight` outstanding for `seconds`, timing each completion; the
     * Node side reads the JVM's CPU time from /proc around the call.
     */
    private static String timedRun(int inFlight, double seconds, java.util.function.Supplier<CompletableFuture<?>> op) throws Exception {
        java.util.concurrent.Semaphore permits = new java.util.concurrent.Semaphore(inFlight);
        long[] lat = new long[1 << 22];
        java.util.concurrent.atomic.AtomicInteger n = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicReference<Throwable> failure = new java.util.concurrent.atomic.AtomicReference<>();
        long start = System.nanoTime();
        long end = start + (long) (seconds * 1e9);
        while (System.nanoTime() < end && failure.get() == null) {
            permits.acquire();
            long t = System.nanoTime();
            op.get().whenComplete((r, err) -> {
                if (err != null) {
                    failure.compareAndSet(null, err);
                } else {
                    int i = n.getAndIncrement();
                    if (i < lat.length) {
                        lat[i] = System.nanoTime() - t;
                    }
                }
                permits.release();
            });
        }
        permits.acquire(inFlight);
        long elapsed = System.nanoTime() - start;
        if (failure.get() != null) {
            throw new ExecutionException(failure.get());
        }
        return benchResult(Math.min(n.get(), lat.length), elapsed, lat);
    }

    /** benchadd E W A INFLIGHT SECONDS SIZE: appends to a new CRC32C ledger; answers count, ns, p50 µs, p99 µs. */
    private String benchAdd(String[] a) throws Exception {
        byte[] payload = new byte[Integer.parseInt(a[6])];
        java.util.Arrays.fill(payload, (byte) 7);
        try (WriteHandle w = bk.newCreateLedgerOp()
                .withEnsembleSize(Integer.parseInt(a[1])).withWriteQuorumSize(Integer.parseInt(a[2]))
                .withAckQuorumSize(Integer.parseInt(a[3])).withDigestType(DigestType.CRC32C)
                .withPassword(new byte[0]).execute().get(TIMEOUT_S, TimeUnit.SECONDS)) {
            return timedRun(Integer.parseInt(a[4]), Double.parseDouble(a[5]), () -> w.appendAsync(payload));
        }
    }

    /** benchdl LOG INFLIGHT SECONDS SIZE: AsyncLogWriter writes to a new log; answers count, ns, p50 µs, p99 µs. */
    private String benchDl(String[] a) throws Exception {
        byte[] payload = new byte[Integer.parseInt(a[4])];
        java.util.Arrays.fill(payload, (byte) 0x61);
        AsyncLogWriter w = log(a[1]).openAsyncLogWriter().get(TIMEOUT_S, TimeUnit.SECONDS);
        java.util.concurrent.atomic.AtomicLong txid = new java.util.concurrent.atomic.AtomicLong(1);
        try {
            return timedRun(Integer.parseInt(a[2]), Double.parseDouble(a[3]), () -> w.write(new LogRecord(txid.getAndIncrement(), payload)));
        } finally {
            w.asyncClose().get(TIMEOUT_S, TimeUnit.SECONDS);
        }
    }

    private String create(String[] a) throws Exception {
        WriteHandle w = bk.newCreateLedgerOp()
                .withEnsembleSize(Integer.parseInt(a[1]))
                .withWriteQuorumSize(Integer.parseInt(a[2]))
                .withAckQuorumSize(Integer.parseInt(a[3]))
                .withDigestType(DigestType.valueOf(a[4]))
                .withPassword(hex(a[5]))
                .execute().get(TIMEOUT_S, TimeUnit.SECONDS);
        writers.put(w.getId(), w);
        return String.valueOf(w.getId());
    }

    /** appendmany L count sizeBytes: pipelined appends of deterministic payloads (byte i%251 + entry). */
    private String appendMany(String[] a) throws Exception {
        WriteHandle w = writer(a[1]);
        int count = Integer.parseInt(a[2]);
        List<CompletableFuture<Long>> futures = new ArrayList<>();
        for (int i = 0; i < count; i++) {
            futures.add(w.appendAsync(hex(a[3].replace("%d", String.format("%08x", i)))));
        }
        long last = -1;
        for (CompletableFuture<Long> f : futures) {
            last = f.get(TIMEOUT_S, TimeUnit.SECONDS);
        }
        return String.valueOf(last);
    }

    private String closeLedger(long id) throws Exception {
        WriteHandle w = writers.remove(id);
        if (w != null) {
            w.close();
        }
        ReadHandle r = readers.remove(id);
        if (r != null) {
            r.close();
        }
        return "";
    }

    private String open(String[] a) throws Exception {
        long id = Long.parseLong(a[1]);
        ReadHandle r = bk.newOpenLedgerOp().withLedgerId(id).withPassword(hex(a[2]))
                .withRecovery(Boolean.parseBoolean(a[3])).withDigestType(DigestType.valueOf(a[4]))
                .execute().get(TIMEOUT_S, TimeUnit.SECONDS);
        ReadHandle old = readers.put(id, r);
        if (old != null) {
            old.close();
        }
        return r.getLastAddConfirmed() + " " + r.getLedgerMetadata().getState();
    }

    private String read(String[] a) throws Exception {
        try (LedgerEntries es = reader(a[1]).read(Long.parseLong(a[2]), Long.parseLong(a[3]))) {
            List<String> out = new ArrayList<>();
            for (LedgerEntry e : es) {
                out.add(e.getEntryId() + ":" + toHex(e.getEntryBytes()));
            }
            return String.join(",", out);
        }
    }

    private String longPoll(String[] a) throws Exception {
        LastConfirmedAndEntry r = reader(a[1]).readLastAddConfirmedAndEntry(Long.parseLong(a[2]), Long.parseLong(a[3]), false);
        try {
            String entry = r.hasEntry() ? toHex(r.getEntry().getEntryBytes()) : "-";
            return r.getLastAddConfirmed() + " " + entry;
        } finally {
            r.close();
        }
    }

    private String ensembles(String id) {
        return reader(id).getLedgerMetadata().getAllEnsembles().entrySet().stream()
                .map(e -> e.getKey() + "=" + e.getValue().stream().map(BookieId::toString).collect(Collectors.joining("|")))
                .collect(Collectors.joining(","));
    }

    private String listLedgers() throws Exception {
        List<String> ids = new ArrayList<>();
        for (Long id : admin.listLedgers()) {
            ids.add(String.valueOf(id));
        }
        return String.join(",", ids);
    }

    private String dlBind(String nsUri, String zkServers, String ledgersPath) throws Exception {
        DLMetadata.create(new BKDLConfig(zkServers, ledgersPath)).create(URI.create(nsUri));
        return "";
    }

    /** dlns URI key=value...: (re)opens the namespace with DistributedLogConfiguration properties. */
    private String dlNamespace(String[] a) throws Exception {
        closeNamespace();
        namespaceArgs = a;
        DistributedLogConfiguration conf = new DistributedLogConfiguration();
        // output buffer 0: every write is transmitted at once (with the default 1024 bytes and no
        // periodic flush, a small write waits for the buffer to fill)
        conf.setEnsembleSize(3).setWriteQuorumSize(3).setAckQuorumSize(2).setImmediateFlushEnabled(true).setOutputBufferSize(0);
        conf.setLockTimeout(0);
        for (int i = 2; i < a.length; i++) {
            String[] kv = a[i].split("=", 2);
            conf.setProperty(kv[0], kv[1]);
        }
        ns = NamespaceBuilder.newBuilder().conf(conf).uri(URI.create(a[1])).clientId("java-interop").build();
        return "";
    }

    /**
     * A fresh namespace instance, as another Java process would have: Java caches segment metadata
     * per namespace and does not see another client's later changes to a segment it has read.
     */
    private String dlReopenNamespace() throws Exception {
        return dlNamespace(namespaceArgs);
    }

    private void closeNamespace() throws Exception {
        for (AsyncLogWriter w : logWriters.values()) {
            w.asyncClose().get(TIMEOUT_S, TimeUnit.SECONDS);
        }
        logWriters.clear();
        for (DistributedLogManager dlm : logs.values()) {
            dlm.close();
        }
        logs.clear();
        if (ns != null) {
            ns.close();
            ns = null;
        }
    }

    private String dlLogs() throws Exception {
        List<String> names = new ArrayList<>();
        ns.getLogs().forEachRemaining(names::add);
        names.sort(null);
        return String.join(",", names);
    }

    private DistributedLogManager log(String name) throws Exception {
        DistributedLogManager dlm = logs.get(name);
        if (dlm == null) {
            dlm = ns.openLog(name);
            logs.put(name, dlm);
        }
        return dlm;
    }

    private String dlOpenWriter(String name, long timeoutMs) throws Exception {
        AsyncLogWriter w = log(name).openAsyncLogWriter().get(timeoutMs, TimeUnit.MILLISECONDS);
        logWriters.put(name, w);
        return "";
    }

    /** dlwrite LOG txid:hex,txid:hex...: one write per record, all in flight; answers the DLSNs. */
    private String dlWrite(String[] a) throws Exception {
        AsyncLogWriter w = Objects.requireNonNull(logWriters.get(a[1]), "no writer open on " + a[1]);
        List<CompletableFuture<DLSN>> futures = new ArrayList<>();
        for (String rec : a[2].split(",")) {
            String[] tp = rec.split(":", 2);
            futures.add(w.write(new LogRecord(Long.parseLong(tp[0]), hex(tp[1]))));
        }
        List<String> out = new ArrayList<>();
        for (CompletableFuture<DLSN> f : futures) {
            out.add(dlsn(f.get(TIMEOUT_S, TimeUnit.SECONDS)));
        }
        return String.join(",", out);
    }

    private String dlCloseWriter(String name) throws Exception {
        AsyncLogWriter w = logWriters.remove(name);
        if (w != null) {
            w.asyncClose().get(TIMEOUT_S, TimeUnit.SECONDS);
        }
        return "";
    }

    /**
     * dlread LOG FROM COUNT: FROM is seq/entry/slot or txid:N; reads COUNT records (or up to the end
     * of stream) and answers txid:dlsn:hex per record, then "eos" when the stream ended.
     */
    private String dlRead(String[] a) throws Exception {
        try (DistributedLogManager dlm = ns.openLog(a[1])) {
            AsyncLogReader r = a[2].startsWith("txid:")
                    ? dlm.openAsyncLogReader(Long.parseLong(a[2].substring(5))).get(TIMEOUT_S, TimeUnit.SECONDS)
                    : dlm.openAsyncLogReader(parseDlsn(a[2])).get(TIMEOUT_S, TimeUnit.SECONDS);
            int count = Integer.parseInt(a[3]);
            List<String> out = new ArrayList<>();
            try {
                for (int i = 0; i < count; i++) {
                    LogRecordWithDLSN rec = r.readNext().get(TIMEOUT_S, TimeUnit.SECONDS);
                    out.add(rec.getTransactionId() + ":" + dlsn(rec.getDlsn()) + ":" + toHex(rec.getPayload()));
                }
            } catch (ExecutionException e) {
                if (!(e.getCause() instanceof EndOfStreamException)) {
                    throw e;
                }
                out.add("eos");
            } finally {
                r.asyncClose().get(TIMEOUT_S, TimeUnit.SECONDS);
            }
            return String.join(",", out);
        }
    }

    private String dlSegments(String name) throws Exception {
        List<String> out = new ArrayList<>();
        for (LogSegmentMetadata s : log(name).getLogSegments()) {
            out.add(s.getLogSegmentSequenceNumber() + "/" + s.getLogSegmentId() + "/" + s.getFirstTxId() + "/"
                    + s.getLastTxId() + "/" + (s.isInProgress() ? "open" : "closed") + "/" + s.getRecordCount());
        }
        return String.join(",", out);
    }

    private void shutdown() {
        for (AsyncLogWriter w : logWriters.values()) {
            w.asyncClose().join();
        }
        for (DistributedLogManager dlm : logs.values()) {
            try {
                dlm.close();
            } catch (Exception ignored) {
                // best effort on exit
            }
        }
        try {
            if (ns != null) {
                ns.close();
            }
            for (WriteHandle w : writers.values()) {
                w.close();
            }
            if (admin != null) {
                admin.close();
            }
            if (bk != null) {
                bk.close();
            }
        } catch (Exception ignored) {
            // best effort on exit
        }
    }

    private WriteHandle writer(String id) {
        return Objects.requireNonNull(writers.get(Long.parseLong(id)), "no write handle for ledger " + id);
    }

    private ReadHandle reader(String id) {
        return Objects.requireNonNull(readers.get(Long.parseLong(id)), "no read handle for ledger " + id);
    }

    private static String sorted(java.util.Collection<BookieId> ids) {
        return ids.stream().map(BookieId::toString).sorted().collect(Collectors.joining(","));
    }

    private static String dlsn(DLSN d) {
        return d.getLogSegmentSequenceNo() + "/" + d.getEntryId() + "/" + d.getSlotId();
    }

    private static DLSN parseDlsn(String s) {
        String[] p = s.split("/");
        return new DLSN(Long.parseLong(p[0]), Long.parseLong(p[1]), Long.parseLong(p[2]));
    }

    private static byte[] hex(String s) {
        if (s.equals("-")) {
            return new byte[0];
        }
        byte[] b = new byte[s.length() / 2];
        for (int i = 0; i < b.length; i++) {
            b[i] = (byte) Integer.parseInt(s.substring(2 * i, 2 * i + 2), 16);
        }
        return b;
    }

    private static String toHex(byte[] b) {
        if (b.length == 0) {
            return "-";
        }
        StringBuilder sb = new StringBuilder(b.length * 2);
        for (byte x : b) {
            sb.append(String.format("%02x", x));
        }
        return sb.toString();
    }
}
