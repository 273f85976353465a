// STARTTLS: the NBD handshake begins in clear text and the same socket is then handed to
// node:tls. Two kinds of credentials: a pre-shared key (what qemu-nbd's tls-creds-psk
// serves; TLS 1.2 only, because Node offers PSK cipher suites only up to 1.2) and X.509.
import tls from "node:tls";
import type { Socket } from "node:net";
import { NbdHandshakeError } from "./errors";
import { messageOf } from "@/lib/messages";

export type NbdTlsOptions =
  | {
      /** qemu-nbd's keys.psk holds `identity:hexkey` lines; qemu's own client uses identity "qemu". */
      psk: { identity: string; key: Buffer | string };
    }
  | {
      /** PEM of the CA(s) that signed the server certificate; Node's defaults when absent. */
      ca?: string | Buffer;
      /** Client certificate and key, for servers that verify clients (qemu: verify-peer=on). */
      cert?: string | Buffer;
      key?: string | Buffer;
      /** Name the certificate must carry; defaults to the host (to "localhost" for unix sockets). */
      servername?: string;
    };

function pskKey(key: Buffer | string): Buffer {
  if (Buffer.isBuffer(key)) return key;
  if (!/^([0-9a-fA-F]{2})+$/.test(key)) throw new NbdHandshakeError("a PSK given as text must be hex digits");
  return Buffer.from(key, "hex");
}

/** Runs the TLS handshake over `socket`; rejects (never hangs) when the peer refuses or closes. */
export function startTls(socket: Socket, options: NbdTlsOptions, host: string): Promise<tls.TLSSocket> {
  const common = { socket };
  const secure =
    "psk" in options
      ? tls.connect({
          ...common,
          ciphers: "PSK",
          maxVersion: "TLSv1.2",
          pskCallback: () => ({ psk: pskKey(options.psk.key), identity: options.psk.identity }),
          // PSK authenticates the server by the key itself; there is no certificate to check.
          checkServerIdentity: () => undefined,
        })
      : tls.connect({
          ...common,
          ca: options.ca,
          cert: options.cert,
          key: options.key,
          servername: options.servername ?? (host.startsWith("/") ? "localhost" : host),
        });
  return new Promise((resolve, reject) => {
    const fail = (cause: unknown) => {
      cleanup();
      secure.destroy();
      const why = messageOf(cause);
      const hint = "psk" in options ? " (wrong key or identity?)" : "";
      reject(new NbdHandshakeError(`TLS handshake failed: ${why}${hint}`, { option: "STARTTLS", cause }));
    };
    const onError = (e: Error) => fail(e);
    const onClose = () => fail(new Error("server closed the connection during the TLS handshake"));
    const onSecure = () => {
      cleanup();
      resolve(secure);
    };
    const cleanup = () => {
      secure.off("error", onError);
      secure.off("close", onClose);
      secure.off("secureConnect", onSecure);
    };
    secure.once("error", onError);
    secure.once("close", onClose);
    secure.once("secureConnect", onSecure);
  });
}
