// Console users: create, list, change (role, disable, password), delete, and the first admin.
// Changes that could leave no enabled admin are refused, so the console cannot lock itself out.
import "server-only";
import { randomUUID } from "node:crypto";
import type { Prisma, User } from "@/lib/generated/prisma/client";
import type { Db } from "@/lib/db/prisma";
import type { Logger } from "@/lib/log";
import { prismaCode } from "@/lib/db/prisma-code";
import { conflict, notFound } from "@/lib/errors";
import { roleOf, type Role } from "./roles";
import { hashPassword } from "./passwords";
import { revokeUserSessions } from "./sessions";
import { revokeTokensOfUser } from "./tokens";
import type { UserPatch, UserView } from "./types";

/** One advisory lock for every change to who is admin (setup, role, disable, delete). */
const USERS_LOCK = 0x6e6264_75; // "nbdu"

type Tx = Prisma.TransactionClient;

function toUserView(row: User): UserView {
  return {
    id: row.id,
    username: row.username,
    role: roleOf(row.role),
    disabled: row.disabled,
    createdAt: row.createdAt.toISOString(),
    lastLoginAt: row.lastLoginAt?.toISOString() ?? null,
  };
}

async function lockUsers(tx: Tx): Promise<void> {
  await tx.$executeRaw`SELECT pg_advisory_xact_lock(${USERS_LOCK}::bigint)`;
}

async function insertUser(tx: Tx, username: string, passwordHash: string, role: Role): Promise<User> {
  try {
    return await tx.user.create({ data: { id: randomUUID(), username, passwordHash, role } });
  } catch (error) {
    if (prismaCode(error) === "P2002") throw conflict("username_taken", `the user name ${username} is taken`);
    throw error;
  }
}

export async function countUsers(db: Db): Promise<number> {
  return db.user.count();
}

export async function listUsers(db: Db): Promise<UserView[]> {
  const rows = await db.user.findMany({ orderBy: { username: "asc" } });
  return rows.map(toUserView);
}

export async function createUser(db: Db, input: { username: string; password: string; role: Role }): Promise<UserView> {
  const passwordHash = await hashPassword(input.password);
  const row = await db.$transaction((tx) => insertUser(tx, input.username, passwordHash, input.role));
  return toUserView(row);
}

const setupDone = () => conflict("setup_done", "nbdhub already has users; sign in instead");

/**
 * The first admin, only while there are no users at all (POST /auth/setup). `mayProceed`
 * (the setup-code check) throws to refuse; it runs after the cheap "no users yet" check and
 * before anything costly or lasting.
 */
export async function setupFirstAdmin(
  db: Db,
  input: { username: string; password: string },
  mayProceed: () => void = () => undefined,
): Promise<User> {
  if ((await db.user.count()) > 0) throw setupDone();
  mayProceed();
  // Hash before taking the lock: argon2 is the slow part and needs no lock.
  const passwordHash = await hashPassword(input.password);
  return db.$transaction(async (tx) => {
    await lockUsers(tx);
    if ((await tx.user.count()) > 0) throw setupDone();
    return insertUser(tx, input.username, passwordHash, "admin");
  });
}

/** NBDHUB_ADMIN_PASSWORD: user `admin` for unattended installs, made only while there are no users. */
export async function ensureAdminFromEnv(db: Db, password: string, log: Logger): Promise<void> {
  // Most starts find users: skip argon2 then. (Also the first query opens the pool's first
  // connection with the pool's patient timeout, not a transaction's 2 s.)
  if ((await db.user.count()) > 0) return;
  const passwordHash = await hashPassword(password);
  const created = await db.$transaction(async (tx) => {
    await lockUsers(tx);
    if ((await tx.user.count()) > 0) return false;
    await insertUser(tx, "admin", passwordHash, "admin");
    return true;
  });
  if (created) log.info("created user admin from NBDHUB_ADMIN_PASSWORD");
}

async function enabledAdminsBesides(tx: Tx, id: string): Promise<number> {
  return tx.user.count({ where: { role: "admin", disabled: false, id: { not: id } } });
}

export async function updateUser(
  db: Db,
  id: string,
  patch: UserPatch,
  by: { userId: string | null },
): Promise<UserView> {
  const passwordHash = patch.password !== undefined ? await hashPassword(patch.password) : undefined;
  const row = await db.$transaction(async (tx) => {
    await lockUsers(tx);
    const current = await tx.user.findUnique({ where: { id } });
    if (!current) throw notFound(`user ${id}`);
    if (by.userId === id && patch.disabled === true) {
      throw conflict("cannot_change_self", "you cannot disable your own account");
    }
    const staysAdmin = (patch.role ?? current.role) === "admin" && !(patch.disabled ?? current.disabled);
    if (current.role === "admin" && !current.disabled && !staysAdmin && (await enabledAdminsBesides(tx, id)) === 0) {
      throw conflict("last_admin", "this is the only enabled admin; make another admin first");
    }
    return tx.user.update({
      where: { id },
      data: {
        ...(patch.role ? { role: patch.role } : {}),
        ...(patch.disabled !== undefined ? { disabled: patch.disabled } : {}),
        ...(passwordHash ? { passwordHash } : {}),
      },
    });
  });
  // A reset password or a disabled account must not leave a session that still works.
  if (passwordHash || patch.disabled === true) await revokeUserSessions(db, id);
  return toUserView(row);
}

export async function deleteUser(db: Db, id: string, by: { userId: string | null }): Promise<UserView> {
  return db.$transaction(async (tx) => {
    await lockUsers(tx);
    const current = await tx.user.findUnique({ where: { id } });
    if (!current) throw notFound(`user ${id}`);
    if (by.userId === id) throw conflict("cannot_change_self", "you cannot delete your own account");
    if (current.role === "admin" && !current.disabled && (await enabledAdminsBesides(tx, id)) === 0) {
      throw conflict("last_admin", "this is the only enabled admin; make another admin first");
    }
    // Sessions go with the row (ON DELETE CASCADE), so the user is signed out at once; the
    // tokens they made end too (the rows stay, revoked, for the record).
    await revokeTokensOfUser(tx, id);
    await tx.user.delete({ where: { id } });
    return toUserView(current);
  });
}
