// Every failure the host reports is one of these: a stable `code` a caller can
// branch on, an exit code, and data. Only the CLI entry turns them into exit
// codes and a message (src/cli/main.ts).

export const EXIT = {
  OK: 0,
  INTERNAL: 1,
  USAGE: 2,
  CONNECTOR_FAILED: 3,
  CHECK_FAILED: 4,
  TIMEOUT: 5,
  STATE: 6,
  PROTOCOL: 7,
  TEST_FAILED: 8,
  INTERRUPTED: 130,
  TERMINATED: 143,
} as const;

export type ErrorCode =
  | 'USAGE'
  | 'CONFIG_INVALID'
  | 'CATALOG_INVALID'
  | 'CONNECTOR_NOT_FOUND'
  | 'CONNECTOR_EXIT'
  | 'CONNECTOR_ERROR'
  | 'CONNECTOR_CONFIG_ERROR'
  | 'CONNECTOR_NO_OUTPUT'
  | 'DESTINATION_ERROR'
  | 'CHECK_FAILED'
  | 'CONNECTOR_TIMEOUT'
  | 'HEARTBEAT_TIMEOUT'
  | 'STATE_LOCKED'
  | 'STATE_INVALID'
  | 'STATE_WRITE'
  | 'OUTPUT_WRITE'
  | 'PROTOCOL_VIOLATION'
  | 'INTERRUPTED';

export interface ErrorData {
  exitCode?: number | undefined;
  signal?: string | undefined;
  stderrTail?: string[] | undefined;
  stream?: string | undefined;
  failureType?: string | undefined;
  file?: string | undefined;
  line?: number | undefined;
  [key: string]: unknown;
}

export class HostError extends Error {
  readonly code: ErrorCode;
  readonly exitCode: number;
  readonly data: ErrorData;
  constructor(code: ErrorCode, exitCode: number, message: string, data: ErrorData = {}) {
    super(message);
    this.name = 'HostError';
    this.code = code;
    this.exitCode = exitCode;
    this.data = data;
  }
}

export class UsageError extends HostError {
  constructor(message: string, data?: ErrorData) {
    super('USAGE', EXIT.USAGE, message, data);
    this.name = 'UsageError';
  }
}

export class ConfigError extends HostError {
  constructor(message: string, data?: ErrorData, code: 'CONFIG_INVALID' | 'CATALOG_INVALID' | 'CONNECTOR_NOT_FOUND' = 'CONFIG_INVALID') {
    super(code, EXIT.USAGE, message, data);
    this.name = 'ConfigError';
  }
}

export class ConnectorError extends HostError {
  constructor(
    message: string,
    data?: ErrorData,
    code: 'CONNECTOR_EXIT' | 'CONNECTOR_ERROR' | 'CONNECTOR_CONFIG_ERROR' | 'CONNECTOR_NO_OUTPUT' | 'DESTINATION_ERROR' = 'CONNECTOR_EXIT',
  ) {
    super(code, code === 'CONNECTOR_CONFIG_ERROR' ? EXIT.USAGE : EXIT.CONNECTOR_FAILED, message, data);
    this.name = 'ConnectorError';
  }
}

export class CheckFailedError extends HostError {
  constructor(message: string, data?: ErrorData) {
    super('CHECK_FAILED', EXIT.CHECK_FAILED, message, data);
    this.name = 'CheckFailedError';
  }
}

export class TimeoutError extends HostError {
  constructor(message: string, data?: ErrorData, code: 'CONNECTOR_TIMEOUT' | 'HEARTBEAT_TIMEOUT' = 'CONNECTOR_TIMEOUT') {
    super(code, EXIT.TIMEOUT, message, data);
    this.name = 'TimeoutError';
  }
}

export class StateError extends HostError {
  constructor(message: string, data?: ErrorData, code: 'STATE_LOCKED' | 'STATE_INVALID' | 'STATE_WRITE' | 'OUTPUT_WRITE' = 'STATE_WRITE') {
    super(code, EXIT.STATE, message, data);
    this.name = 'StateError';
  }
}

export class ProtocolError extends HostError {
  constructor(message: string, data?: ErrorData) {
    super('PROTOCOL_VIOLATION', EXIT.PROTOCOL, message, data);
    this.name = 'ProtocolError';
  }
}

export class InterruptedError extends HostError {
  constructor(signal: 'SIGINT' | 'SIGTERM') {
    super('INTERRUPTED', signal === 'SIGINT' ? EXIT.INTERRUPTED : EXIT.TERMINATED, `interrupted by ${signal}`, { signal });
    this.name = 'InterruptedError';
  }
}

export function isHostError(e: unknown): e is HostError {
  return e instanceof HostError;
}
