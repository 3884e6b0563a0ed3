import type { ContentfulStatusCode } from "hono/utils/http-status";

/** A failure the caller can act on: it carries a stable code and the HTTP status it maps to. */
export class AppError extends Error {
  constructor(
    readonly code: string,
    message: string,
    readonly status: ContentfulStatusCode = 500,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = new.target.name;
  }
}

/** Input that fails validation; `field` names what to fix. */
export class ValidationError extends AppError {
  constructor(
    readonly field: string,
    message: string,
  ) {
    super("invalid_request", `${field}: ${message}`, 400);
  }
}

export class NotFoundError extends AppError {
  constructor(message: string) {
    super("not_found", message, 404);
  }
}

export class ConflictError extends AppError {
  constructor(message: string) {
    super("conflict", message, 409);
  }
}

export interface ErrorBody {
  error: { code: string; message: string };
}

export const errorBody = (code: string, message: string): ErrorBody => ({ error: { code, message } });
