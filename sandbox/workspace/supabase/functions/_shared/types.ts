import type { Faults } from "./faults.ts";
import type { JwtPayload } from "./jwt.ts";

/** What the router hands to a function besides the request. */
export interface FunctionContext {
  /** RELEASE_VERSION of this process. */
  version: string;
  url: URL;
  /** Path after /functions/v1/<name>, "" or starting with "/". */
  subpath: string;
  /** Verified JWT claims when VERIFY_JWT is on and the function is not public; else null. */
  claims: JwtPayload | null;
  /** Fault switches in force for this request. */
  faults: Faults;
  /** Feature-flag overrides by tenant slug (TENANT_FLAGS_FILE), {} when none. */
  flagOverrides(): Promise<FlagOverrides>;
}

export type FlagOverrides = Record<string, Record<string, boolean>>;

export type FunctionHandler = (req: Request, ctx: FunctionContext) => Response | Promise<Response>;
