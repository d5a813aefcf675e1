package io.wscluster;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.util.Arrays;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * HMAC-SHA256 tags of frames: signs with {@value WsClusterConfig#SECRET}, verifies with it and,
 * during a key change, with {@value WsClusterConfig#SECRET_PREVIOUS}. The key is the UTF-8 bytes
 * of the configured string.
 *
 * <p>Pure and thread-safe. A {@link Mac} is not thread-safe, so each thread that signs or verifies
 * keeps its own, per key (making one per frame cost more than the tag itself): the publisher
 * thread signs while the dispatcher thread verifies, and tests call from anywhere. The cached
 * objects are JDK classes only, so a container thread that held one pins no webapp class.
 */
final class FrameAuthenticator {
  static final String ALGORITHM = "HmacSHA256";
  static final int TAG_BYTES = 32;

  private final ThreadLocal<Mac> signing;
  /** Verifies too, never signs; null when there is no key change under way. */
  private final ThreadLocal<Mac> previous;

  private FrameAuthenticator(String secret, String previous) {
    SecretKeySpec key = key(secret);
    mac(key); // a JRE without HmacSHA256 fails the start, not the first frame
    this.signing = ThreadLocal.withInitial(() -> mac(key));
    if (previous.isEmpty()) {
      this.previous = null;
    } else {
      SecretKeySpec old = key(previous);
      this.previous = ThreadLocal.withInitial(() -> mac(old));
    }
  }

  /**
   * The authenticator of a node, or null when {@code secret} is empty: frames are then neither
   * signed nor verified. Lengths are checked by {@link WsClusterConfig}.
   *
   * @throws IllegalArgumentException when only {@code previous} is given
   */
  static FrameAuthenticator of(String secret, String previous) {
    if (secret.isEmpty()) {
      if (!previous.isEmpty()) {
        throw new IllegalArgumentException("a previous secret without a secret to sign with");
      }
      return null;
    }
    return new FrameAuthenticator(secret, previous);
  }

  /** Writes the tag of {@code frame[0, length)} into {@code frame[length, length + 32)}. */
  void sign(byte[] frame, int length) {
    Mac mac = signing.get(); // ready: every use ends in doFinal, or reset on failure
    mac.update(frame, 0, length);
    try {
      mac.doFinal(frame, length);
    } catch (javax.crypto.ShortBufferException e) {
      mac.reset();
      throw new IllegalArgumentException("no room for the tag after " + length + " bytes", e);
    }
  }

  /**
   * Whether {@code frame[length, length + 32)} is the tag of {@code frame[0, length)} under the
   * secret or the previous secret. The comparison takes the same time wherever the tags differ.
   */
  boolean verify(byte[] frame, int length) {
    byte[] tag = Arrays.copyOfRange(frame, length, length + TAG_BYTES);
    if (matches(signing, frame, length, tag)) {
      return true;
    }
    return previous != null && matches(previous, frame, length, tag);
  }

  private static boolean matches(ThreadLocal<Mac> key, byte[] frame, int length, byte[] tag) {
    Mac mac = key.get();
    mac.update(frame, 0, length);
    return MessageDigest.isEqual(mac.doFinal(), tag);
  }

  private static SecretKeySpec key(String secret) {
    return new SecretKeySpec(secret.getBytes(StandardCharsets.UTF_8), ALGORITHM);
  }

  private static Mac mac(SecretKeySpec key) {
    try {
      Mac mac = Mac.getInstance(ALGORITHM);
      mac.init(key);
      return mac;
    } catch (GeneralSecurityException e) {
      // every Java platform must provide HmacSHA256 (Mac's Javadoc)
      throw new IllegalStateException(ALGORITHM + " is not available in this JRE", e);
    }
  }

  @Override
  public String toString() {
    // never a key
    return ALGORITHM + (previous == null ? " with one key" : " with a previous key");
  }
}
