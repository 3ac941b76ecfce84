// The failure converter of a deployment with payload encryption: failure messages and stack traces
// (which can quote a document) travel in the encoded attributes, so the payload codec encrypts
// them. CommonJS: the SDK loads it with require() in the worker and bundles it into workflow code.
'use strict';
const { DefaultFailureConverter } = require('@temporalio/common');

exports.failureConverter = new DefaultFailureConverter({ encodeCommonAttributes: true });
