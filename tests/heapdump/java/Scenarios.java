import java.util.HashMap;
import java.util.Map;

/** Builds the object graphs that tests/heapdump/test_jvm.py asserts on, then idles. */
public class Scenarios {
    static class Node {
        int id;
        Object a;
        Object b;
        Node(int id) { this.id = id; }
    }

    static class Link {
        int id;
        Link next;
        Link(int id) { this.id = id; }
    }

    static class Payload {
        int id;
        byte[] data;
        Payload(int id, int size) { this.id = id; this.data = new byte[size]; }
    }

    /** A static cache that only grows: the planted leak. */
    static class Cache {
        static final Map<Integer, byte[]> MAP = new HashMap<>();
    }

    static Node diamond;
    static Node cycle;
    static Link list;
    static final ThreadLocal<Payload> LOCAL = new ThreadLocal<>();

    public static void main(String[] args) throws Exception {
        // build in a method of its own: main's frame must not keep graph nodes in
        // locals, or they become Java-frame roots depending on JIT liveness
        build(Integer.parseInt(args[0]));
        startLeakyThread();
        System.out.println("READY");
        System.out.flush();
        Thread.sleep(Long.MAX_VALUE);
    }

    static void build(int listLength) {
        // diamond: 1 -> 2, 3; 2 -> 4; 3 -> 4
        Node top = new Node(1), left = new Node(2), right = new Node(3), bottom = new Node(4);
        top.a = left; top.b = right; left.a = bottom; right.a = bottom;
        diamond = top;
        // cycle: 10 -> 11 -> 12 -> 10, plus 12 -> 13
        Node c0 = new Node(10), c1 = new Node(11), c2 = new Node(12), tail = new Node(13);
        c0.a = c1; c1.a = c2; c2.a = c0; c2.b = tail;
        cycle = c0;
        // long linked list with ids 0..listLength-1
        Link head = new Link(0), cur = head;
        for (int i = 1; i < listLength; i++) { cur.next = new Link(i); cur = cur.next; }
        list = head;
        // static-cache leak: 2000 entries of 10 kB, keys outside the Integer cache
        for (int i = 0; i < 2000; i++) Cache.MAP.put(1000 + i, new byte[10_000]);
    }

    static void startLeakyThread() throws InterruptedException {
        // ThreadLocal leak: a parked worker keeps a 1 MB payload in its ThreadLocalMap
        Thread worker = new Thread(() -> {
            LOCAL.set(new Payload(77, 1 << 20));
            try { Thread.sleep(Long.MAX_VALUE); } catch (InterruptedException e) { }
        }, "tl-leaker");
        worker.setDaemon(true);
        worker.start();
        while (worker.getState() != Thread.State.TIMED_WAITING) Thread.sleep(5);
    }
}
