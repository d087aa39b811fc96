import java.util.ArrayList;
import java.util.List;

/** Fills the heap with LeakyCache entries until the JVM dies of OutOfMemoryError. */
public class OomDump {
    static final class LeakyCache {
        final byte[] payload = new byte[64 * 1024];
    }

    public static void main(String[] args) {
        List<LeakyCache> cache = new ArrayList<>();
        while (true) {
            cache.add(new LeakyCache());
        }
    }
}
