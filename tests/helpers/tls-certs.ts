// A throwaway CA and a server certificate for 127.0.0.1/localhost, laid out the way qemu's
// tls-creds-x509 reads a directory (ca-cert.pem, server-cert.pem, server-key.pem). qemu checks
// its own certificate's usages at start, hence the explicit extensions; and it verifies clients
// by default (verify-peer=on), hence a client certificate signed by the same CA.
import { mkdir, writeFile } from "node:fs/promises";
import path from "node:path";
import { execa } from "execa";

/** EC keys: generated in milliseconds where RSA takes a second each on a busy machine. */
const EC_KEY = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"];

export type X509Dir = { dir: string; caFile: string; clientCert: string; clientKey: string };

export async function makeX509Dir(dir: string): Promise<X509Dir> {
  await mkdir(dir, { recursive: true });
  const p = (f: string) => path.join(dir, f);
  await writeFile(
    p("ca.ext"),
    "basicConstraints=critical,CA:TRUE\nkeyUsage=critical,keyCertSign,cRLSign\nsubjectKeyIdentifier=hash\n",
  );
  await writeFile(
    p("server.ext"),
    [
      "basicConstraints=critical,CA:FALSE",
      "keyUsage=critical,digitalSignature,keyEncipherment",
      "extendedKeyUsage=serverAuth",
      "subjectAltName=IP:127.0.0.1,DNS:localhost",
      "",
    ].join("\n"),
  );
  const ssl = (args: string[]) => execa("openssl", args, { cwd: dir });
  await ssl([
    "req",
    "-x509",
    ...EC_KEY,
    "-nodes",
    "-keyout",
    "ca-key.pem",
    "-out",
    "ca-cert.pem",
    "-days",
    "2",
    "-subj",
    "/CN=nbdhub test CA",
    "-addext",
    "basicConstraints=critical,CA:TRUE",
    "-addext",
    "keyUsage=critical,keyCertSign,cRLSign",
  ]);
  /** A key and a certificate for `name`, signed by the CA, with the extensions in `name`.ext. */
  const issue = async (name: string, subject: string) => {
    await ssl(["req", ...EC_KEY, "-nodes", "-keyout", `${name}-key.pem`, "-out", `${name}.csr`, "-subj", subject]);
    const sign = ["x509", "-req", "-CA", "ca-cert.pem", "-CAkey", "ca-key.pem", "-CAcreateserial", "-days", "2"];
    await ssl([...sign, "-in", `${name}.csr`, "-out", `${name}-cert.pem`, "-extfile", `${name}.ext`]);
  };
  await issue("server", "/CN=localhost");
  await writeFile(
    p("client.ext"),
    "basicConstraints=critical,CA:FALSE\nkeyUsage=critical,digitalSignature\nextendedKeyUsage=clientAuth\n",
  );
  await issue("client", "/CN=nbdhub client");
  return { dir, caFile: p("ca-cert.pem"), clientCert: p("client-cert.pem"), clientKey: p("client-key.pem") };
}
