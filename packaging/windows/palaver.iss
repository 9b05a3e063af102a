; Inno Setup 6 script: Palaver's Windows installer, around the one-folder PyInstaller bundle.
; Build it with packaging\windows\build-installer.ps1, which builds dist\Palaver first and
; passes the version: iscc /DAppVersion=0.1.0 /DNumericVersion=0.1.0.0 packaging\windows\palaver.iss
; -> dist\Palaver-<version>-setup.exe. Installs per user by default (no admin prompt); the
; user can choose "all users". Uninstalling keeps the user's history and settings
; (%LOCALAPPDATA%\Palaver); API keys stay in Windows Credential Manager.

#ifndef AppVersion
  #error Pass the version: iscc /DAppVersion=X.Y.Z palaver.iss (build-installer.ps1 does)
#endif
#ifndef NumericVersion
  #define NumericVersion "0.0.0.0"
#endif
#define AppName "Palaver"
#define AppExe "Palaver.exe"
#define Root "..\.."

[Setup]
; AppId identifies the app for upgrades and uninstall: never change it.
AppId={{39B99330-6BC9-4C19-BBA5-ECB158D3B9B2}
AppName={#AppName}
AppVersion={#AppVersion}
AppVerName={#AppName} {#AppVersion}
AppPublisher=The Palaver team
AppComments=A desktop client for OpenAI-compatible APIs
VersionInfoVersion={#NumericVersion}
VersionInfoProductName={#AppName}
DefaultDirName={autopf}\{#AppName}
DefaultGroupName={#AppName}
DisableProgramGroupPage=yes
PrivilegesRequired=lowest
PrivilegesRequiredOverridesAllowed=dialog
ArchitecturesAllowed=x64compatible
ArchitecturesInstallIn64BitMode=x64compatible
MinVersion=10.0
SetupIconFile={#Root}\resources\icons\palaver.ico
UninstallDisplayIcon={app}\{#AppExe}
UninstallDisplayName={#AppName}
OutputDir={#Root}\dist
OutputBaseFilename={#AppName}-{#AppVersion}-setup
Compression=lzma2/max
SolidCompression=yes
WizardStyle=modern
CloseApplications=yes
RestartApplications=no

[Languages]
Name: "english"; MessagesFile: "compiler:Default.isl"

[Tasks]
Name: "desktopicon"; Description: "{cm:CreateDesktopIcon}"; GroupDescription: "{cm:AdditionalIcons}"; Flags: unchecked

[InstallDelete]
; An upgrade replaces the whole bundle: no stale libraries from the previous version.
Type: filesandordirs; Name: "{app}\_internal"

[Files]
Source: "{#Root}\dist\Palaver\*"; DestDir: "{app}"; Flags: ignoreversion recursesubdirs createallsubdirs

[Icons]
Name: "{autoprograms}\{#AppName}"; Filename: "{app}\{#AppExe}"; AppUserModelID: "org.palaver.Palaver"
Name: "{autodesktop}\{#AppName}"; Filename: "{app}\{#AppExe}"; Tasks: desktopicon

[Run]
Filename: "{app}\{#AppExe}"; Description: "{cm:LaunchProgram,{#AppName}}"; Flags: nowait postinstall skipifsilent
