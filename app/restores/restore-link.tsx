"use client";
// "Restore" on a completed backup (its job page, a VM's restore point), for operators: opens the
// restore form for that point.
import type { ComponentProps } from "react";
import { RoleGate } from "../components/role-gate";
import { ButtonLink } from "../components/button";
import { newRestoreHref } from "../components/hrefs";

type RestoreLinkProps = Pick<ComponentProps<typeof ButtonLink>, "variant" | "size"> & { jobId: string; testId: string };

export function RestoreLink({ jobId, testId, ...look }: RestoreLinkProps) {
  return (
    <RoleGate role="operator">
      <ButtonLink href={newRestoreHref(jobId)} {...look} data-testid={testId}>
        Restore
      </ButtonLink>
    </RoleGate>
  );
}
